"""ERNIE-4.5-VL-MoE (baidu/ERNIE-4.5-VL-28B-A3B-PT, -Thinking): Qwen2-VL's header rule (qwen2_vl/tokens.py,
the same smart_resize, patch 14, merge 2) with ERNIE's tokens:

    <|IMAGE_START|><|IMAGE_PLACEHOLDER|> x prod(image_grid_thw) / 4 <|IMAGE_END|>

The processor returns `mm_token_type_ids` (1 on image tokens; the model's 3-D RoPE reads it) and
`moe_mm_token_type_ids` (1 on image tokens and their start/end tokens): the sparse layers route text
tokens to the text experts and vision tokens to the vision experts by it, and without it every token goes
to the text experts. Both pass through the collator, padded with 0 like input_ids (encoding/batch.py). Packing
is refused (`packing_refusal`): the text model reads the text row of 4-row packed position ids for its
mask, but hands the decoder layers only the 3-D RoPE rows, where the per-sample kernels look for the
sample boundaries. LoRA
reaches attention and the dense and shared-expert MLPs of the language model only (the routed experts
are fused 3-D parameters). Ernie4_5_VLMoeProcessor.from_pretrained always loads its video processor, which
needs torchvision. Videos are refused (`video_refusal`). Template: not held verbatim (real_models/ORIGIN.md),
so the tiny model carries its own in the checkpoint's layout (tiny.py).
"""

from __future__ import annotations

from vlmtrain.families.base import Family
from vlmtrain.families.ernie4_5_vl_moe import tiny
from vlmtrain.families.qwen2_vl import tokens as qwen2_vl_tokens

FAMILY = Family(
    name="ernie4_5_vl_moe",
    model_types=("ernie4_5_vl_moe",),
    image_token="<|IMAGE_PLACEHOLDER|>",
    image_related_tokens=(
        "<|IMAGE_START|>",
        "<|IMAGE_END|>",
        "<|VIDEO_PLACEHOLDER|>",
        "<|VIDEO_START|>",
        "<|VIDEO_END|>",
    ),
    vision_tower="model.vision_tower",
    projector="model.resampler_model",
    fsdp_wrap_classes=("Ernie4_5_VLMoeDecoderLayer", "Ernie4_5_VLMoeVisionBlock"),
    model_class="Ernie4_5_VLMoeForConditionalGeneration",
    processor_class="Ernie4_5_VLMoeProcessor",
    needs_torchvision=True,
    tiny=tiny.TINY,
    rule=qwen2_vl_tokens.RULE,
    packing=None,
    packing_refusal=(
        "ERNIE-4.5-VL's text model hands its attention layers the three 3-D RoPE rows instead of the text "
        "row, so the per-sample attention kernels (packed sdpa, flash-attention) cannot find the packed "
        "samples' boundaries"
    ),
    video_refusal=(
        "ERNIE-4.5-VL's video processor draws each sampled frame's timestamp onto its pixels and merges "
        "frame pairs by its own sampling; vlmtrain has no exact rule for it yet"
    ),
)
