"""Tiny PaddleOCR-VL: ERNIE-4.5-style text decoder 64 wide x 2 layers (head_dim 16, M-RoPE 2+3+3), a
SigLIP-style NaViT vision encoder 32 wide x 1 layer (patch 14, 4x4 position grid interpolated to each
image) and the 2x2 merging projector onto the text width. The real tokens (`<|IMAGE_PLACEHOLDER|>` between
`<|IMAGE_START|>`/`<|IMAGE_END|>`, `<|begin_of_sentence|>`, `</s>`); the template is this builder's own, in
the layout of the one PaddleOCR-VL published with its remote code (see the family's docstring)."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import TinyModel, save, text_config, train_tokenizer

SPECIALS = [
    "<unk>",
    "<s>",
    "</s>",
    "<|begin_of_sentence|>",
    "<|end_of_sentence|>",
    "<|IMAGE_START|>",
    "<|IMAGE_END|>",
    "<|IMAGE_PLACEHOLDER|>",
    "<|video_pad|>",
]
# 28..56 px a side (factor 28 = patch 14 x merge 2): a 32 px image is a 2x2 patch grid -> 1 token.
MIN_PIXELS, MAX_PIXELS = 28 * 28, 56 * 56
NORM = dict(image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])  # the checkpoints' mean/std

# The tiny model's own template: PaddleOCR-VL's published layout (its remote-code chat_template.jinja as
# copied into public code): per user turn, "User: ", every image, then every text, "\n"; an answer is
# "Assistant: " + text + EOS. The generation prompt is "Assistant:", stopping before the space (the
# published one: "Assistant: "), so the answer's first token, which carries that space, is the answer's.
CHAT_TEMPLATE = (
    "{{- cls_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'user' -%}"
    "{{- 'User: ' -}}"
    "{%- for content in message['content'] -%}"
    "{%- if content['type'] == 'image' -%}"
    "{{ '<|IMAGE_START|><|IMAGE_PLACEHOLDER|><|IMAGE_END|>' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- for content in message['content'] -%}"
    "{%- if content['type'] == 'text' -%}{{ content['text'] }}{%- endif -%}"
    "{%- endfor -%}"
    "{{ '\\n' -}}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{- 'Assistant: ' -}}"
    "{%- for content in message['content'] -%}"
    "{%- if content['type'] == 'text' -%}{{ content['text'] }}{%- endif -%}"
    "{%- endfor -%}"
    "{{ eos_token -}}"
    "{%- elif message['role'] == 'system' -%}"
    "{%- for content in message['content'] -%}"
    "{%- if content['type'] == 'text' -%}{{ content['text'] + '\\n' }}{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- 'Assistant:' -}}{%- endif -%}"
)


def build(out: Path) -> None:
    from transformers import PaddleOCRVLConfig, PaddleOCRVLForConditionalGeneration, PaddleOCRVLProcessor
    from transformers.models.paddleocr_vl.image_processing_pil_paddleocr_vl import (
        PaddleOCRVLImageProcessorPil,
    )

    tok = train_tokenizer(
        SPECIALS,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<unk>",
        unk_token="<unk>",
        cls_token="<|begin_of_sentence|>",
        sep_token="<|end_of_sentence|>",
        extra_special_tokens={"image_token": "<|IMAGE_PLACEHOLDER|>"},
    )
    ip = PaddleOCRVLImageProcessorPil(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, **NORM)
    processor = PaddleOCRVLProcessor(image_processor=ip, tokenizer=tok, chat_template=CHAT_TEMPLATE)
    ids = tok.convert_tokens_to_ids
    config = PaddleOCRVLConfig(
        text_config=text_config(
            tok,
            head_dim=16,
            rope_parameters={"rope_type": "default", "rope_theta": 500000.0, "mrope_section": [2, 3, 3]},
        ),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=56,  # a 4x4 grid of position embeddings (real: 384 / 14 = 27x27)
            patch_size=14,
            spatial_merge_size=2,
        ),
        image_token_id=ids("<|IMAGE_PLACEHOLDER|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|IMAGE_START|>"),
        vision_end_token_id=ids("<|IMAGE_END|>"),
    )
    save(out, PaddleOCRVLForConditionalGeneration(config), processor, END_OF_TURN)


END_OF_TURN = "</s>"  # the template closes an answer with EOS


TINY = TinyModel(build, END_OF_TURN)
