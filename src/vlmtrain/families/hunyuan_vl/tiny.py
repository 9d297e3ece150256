"""Tiny HunyuanOCR: text hidden 64 x 2 layers (head_dim 16, q/k norms, xD-RoPE over 4 axes 2+2+2+2:
position, width, height, image index, as the checkpoint's 4-axis `xdrope_section`), vision 32 wide x 1
block with patch 16 and the conv merger (2x2, a newline feature per row, begin/end features); images
resized into 32*32 .. 64*64 pixels (a 32 px image: 1 row x 1 col -> 1 * 2 + 2 = 4 tokens).

Hunyuan's special tokens under their real names (`<｜hy_begin▁of▁sentence｜>`, `<｜hy_User｜>`, the
image start/end/token placeholders 100/101/102, ...). The template is this family's own (unverified, see
the family docstring): BOS, a system turn closed by `<｜hy_place▁holder▁no▁3｜>`, a user turn's parts
(an image as start + token + end) closed by `<｜hy_User｜>`, an answer closed by EOS; the generation
prompt adds nothing (the prompt ends with `<｜hy_User｜>`)."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import TinyModel, save, text_config, train_tokenizer

BOS = "<｜hy_begin▁of▁sentence｜>"
END_OF_TURN = "<｜hy_place▁holder▁no▁2｜>"  # EOS: what the tiny template closes an answer with
PAD = "<｜hy_▁pad▁｜>"
IMAGE_START, IMAGE_END, IMAGE = (f"<｜hy_place▁holder▁no▁{n}｜>" for n in (100, 101, 102))
NEWLINE = "<｜hy_place▁holder▁no▁103｜>"  # the config's im_newline_id (not written in text)
SPECIALS = [BOS, END_OF_TURN, PAD, "<｜hy_place▁holder▁no▁3｜>", "<｜hy_User｜>", "<｜hy_Assistant｜>",
            IMAGE_START, IMAGE_END, IMAGE, NEWLINE]  # fmt: skip
MIN_PIXELS, MAX_PIXELS = 32 * 32, 64 * 64
PATCH = 16

CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}" + IMAGE_START + IMAGE + IMAGE_END + ""
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}"
    "{%- endfor -%}"
    "{%- if message['role'] == 'system' -%}<｜hy_place▁holder▁no▁3｜>"
    "{%- elif message['role'] == 'user' -%}<｜hy_User｜>"
    "{%- else -%}{{- eos_token -}}{%- endif -%}"
    "{%- endfor -%}"
)


def build(out: Path) -> None:
    from transformers import HunYuanVLConfig, HunYuanVLForConditionalGeneration, HunYuanVLProcessor
    from transformers.models.hunyuan_vl.image_processing_pil_hunyuan_vl import HunYuanVLImageProcessorPil

    # The processor reads the image tokens from the tokenizer's named special tokens.
    named = {"image_start_token": IMAGE_START, "image_end_token": IMAGE_END, "image_token": IMAGE}
    tok = train_tokenizer(
        SPECIALS, bos_token=BOS, eos_token=END_OF_TURN, pad_token=PAD, extra_special_tokens=named
    )
    ip = HunYuanVLImageProcessorPil(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, patch_size=PATCH)
    processor = HunYuanVLProcessor(image_processor=ip, tokenizer=tok, chat_template=CHAT_TEMPLATE)
    ids = tok.convert_tokens_to_ids
    rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 2, 2, 2]}
    config = HunYuanVLConfig(
        text_config=text_config(tok, head_dim=16, rope_parameters=rope),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            patch_size=PATCH,
            out_hidden_size=64,
        ),
        image_token_id=ids(IMAGE),
        im_start_id=ids(IMAGE_START),
        im_end_id=ids(IMAGE_END),
        im_newline_id=ids(NEWLINE),
    )
    save(out, HunYuanVLForConditionalGeneration(config), processor, END_OF_TURN)


TINY = TinyModel(build, END_OF_TURN)
