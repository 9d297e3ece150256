"""Tiny DeepSeek-OCR-2: text 64 wide x 2 layers (layer 0 dense, layer 1 MoE: 4 routed experts, top-2,
plus a shared expert), a SAM encoder 16 wide x 1 windowed layer (patch 1) and a Qwen2-like query encoder
32 wide x 1 layer. The real model's learned queries are fixed (144 for a 768 px crop, 256 for the 1024 px
global view: SAM patches / 4 per side), so the tiny keeps those counts at small sizes: a 64 px global
view and 48 px crops with patch 1 give 16 x 16 and 12 x 12 queries, as the processor counts them with
patch_size 1 and downsample_ratio 4. DeepSeek's tokens (`<｜begin▁of▁sentence｜>`, `<image>`, ...);
the chat template is ours (unverified, see the family's docstring)."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import TinyModel, save, text_config, train_tokenizer

BOS, EOS, PAD = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"
END_OF_TURN = EOS
GLOBAL, TILE, PATCH, DOWNSAMPLE = 64, 48, 1, 4
SPECIALS = [BOS, EOS, PAD, "<image>", "<|User|>", "<|Assistant|>", "<|grounding|>"]

# DeepSeek-VL2-style roles ("<|User|>: ...\n\n<|Assistant|>: ...<｜end▁of▁sentence｜>"): not the
# checkpoint's (none verified is held); images where the user turn places them, each followed by "\n".
CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}"
    "{%- for part in message['content'] -%}{{- part['text'] -}}{%- endfor -%}{{- '\\n\\n' -}}"
    "{%- elif message['role'] == 'user' -%}"
    "{{- '<|User|>: ' -}}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{- '<image>\\n' -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}"
    "{%- endfor -%}{{- '\\n\\n' -}}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{- '<|Assistant|>:' -}}"
    "{%- for part in message['content'] -%}{{- part['text'] -}}{%- endfor -%}"
    "{{- eos_token -}}{{- '\\n\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|Assistant|>:' -}}{%- endif -%}"
)


def build(out: Path) -> None:
    from transformers import DeepseekOcr2Config, DeepseekOcr2ForConditionalGeneration, DeepseekOcr2Processor
    from transformers.models.deepseek_ocr2.image_processing_pil_deepseek_ocr2 import (
        DeepseekOcr2ImageProcessorPil,
    )

    tok = train_tokenizer(SPECIALS, bos_token=BOS, eos_token=EOS, pad_token=PAD)
    ip = DeepseekOcr2ImageProcessorPil(size={"height": GLOBAL, "width": GLOBAL}, tile_size=TILE)
    processor = DeepseekOcr2Processor(
        ip, tok, chat_template=CHAT_TEMPLATE, patch_size=PATCH, downsample_ratio=DOWNSAMPLE
    )
    config = DeepseekOcr2Config(
        vision_config=dict(
            sam_config=dict(
                hidden_size=16,
                output_channels=16,
                num_hidden_layers=1,
                num_attention_heads=2,
                image_size=GLOBAL,
                patch_size=PATCH,
                window_size=14,
                global_attn_indexes=[],
                downsample_channels=[16, 32],
            ),
            encoder_config=dict(
                hidden_size=32,  # the SAM output channels (downsample_channels[-1])
                intermediate_size=64,
                num_hidden_layers=1,
                num_attention_heads=2,
                num_key_value_heads=2,
                max_position_embeddings=1024,
                vocab_size=1,
            ),
        ),
        text_config=text_config(
            tok,
            num_key_value_heads=4,
            n_routed_experts=4,
            num_experts_per_tok=2,
            n_shared_experts=1,
            moe_intermediate_size=32,
            mlp_layer_types=["dense", "sparse"],
            topk_method="greedy",
        ),
        image_token_id=tok.convert_tokens_to_ids("<image>"),
    )
    save(out, DeepseekOcr2ForConditionalGeneration(config), processor, END_OF_TURN)


TINY = TinyModel(build, END_OF_TURN)
