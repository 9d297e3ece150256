"""Tiny MiniCPM-V 4.6: a Qwen3.5 hybrid text model of 2 layers (one Gated DeltaNet linear-attention
layer, one full-attention layer; hidden 64), a SigLIP-like vision tower 32 wide x 2 layers with its
window-attention merger after layer 0, patch 2 and 32 px overview/slices (scale_resolution 32), so an
image is cut into up to 9 slices as the real 448 px one is, each 16x fewer tokens than patches. The
tokenizer's named tokens the processor reads (`<|image_pad|>`, `<image>`, `<slice>`, `<image_id>`, ...);
the chat template is ours (ChatML; unverified, see the family's docstring)."""

from __future__ import annotations

import json
from pathlib import Path

from vlmtrain.tiny.common import TinyModel, chatml_tokenizer, save, text_config

END_OF_TURN = "<|im_end|>"
SCALE, PATCH = 32, 2
# The tokenizer's named tokens MiniCPMV4_6Processor reads (tokenizer_config.json extra_special_tokens).
NAMED = {
    "image_token": "<|image_pad|>",
    "video_token": "<|video_pad|>",
    "image_start_token": "<image>",
    "image_end_token": "</image>",
    "slice_start_token": "<slice>",
    "slice_end_token": "</slice>",
    "image_id_start_token": "<image_id>",
    "image_id_end_token": "</image_id>",
}
# ChatML with the image token where the user turn places an image (not the checkpoint's; none is held).
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{- '<|image_pad|>' -}}"
    "{%- elif part['type'] == 'video' -%}{{- '<|video_pad|>' -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}"
    "{%- endfor -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)


def build(out: Path) -> None:
    from transformers import MiniCPMV4_6Config, MiniCPMV4_6ForConditionalGeneration, MiniCPMV4_6Processor
    from transformers.models.minicpmv4_6.image_processing_pil_minicpmv4_6 import MiniCPMV4_6ImageProcessorPil
    from transformers.models.minicpmv4_6.video_processing_minicpmv4_6 import MiniCPMV4_6VideoProcessor

    tok = chatml_tokenizer(named=NAMED)
    ip = MiniCPMV4_6ImageProcessorPil(scale_resolution=SCALE, patch_size=PATCH)
    vp = MiniCPMV4_6VideoProcessor(scale_resolution=SCALE, patch_size=PATCH)
    processor = MiniCPMV4_6Processor(ip, vp, tok, chat_template=CHAT_TEMPLATE)
    ids = tok.convert_tokens_to_ids
    config = MiniCPMV4_6Config(
        text_config=text_config(  # the config class's default text model type: Qwen3.5's
            tok,
            head_dim=16,
            layer_types=["linear_attention", "full_attention"],
            linear_key_head_dim=16,
            linear_value_head_dim=16,
            linear_num_key_heads=2,
            linear_num_value_heads=4,
        ),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=SCALE,
            patch_size=PATCH,
        ),
        insert_layer_id=0,
        image_size=SCALE,
        image_token_id=ids(NAMED["image_token"]),
        video_token_id=ids(NAMED["video_token"]),
    )
    # The processor class cannot be built without its video processor (it reads the video slice_mode),
    # so it is saved inside processor_config.json too; the separate file is what the other builders write.
    video = json.loads(vp.to_json_string())
    save(out, MiniCPMV4_6ForConditionalGeneration(config), processor, END_OF_TURN, video_processor=video)


TINY = TinyModel(build, END_OF_TURN)
