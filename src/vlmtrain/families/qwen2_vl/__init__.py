"""Qwen2-VL: `<|vision_start|><|image_pad|>*N<|vision_end|>`, N = prod(image_grid_thw) / merge_size^2.

pixel_values come flattened over all images (rows = patches) with `image_grid_thw` (images, 3), so the
default collate (concatenate along dim 0) is right. M-RoPE position ids are computed by the model from
input_ids, so right padding is fine. Header rule: tokens.py (smart_resize); tiny model: tiny.py; packed
rows take 4-row position ids (text row + the model's own M-RoPE rows per sample, from `rope_index_class`).
"""

from __future__ import annotations

from vlmtrain.families.base import Family
from vlmtrain.families.qwen2_vl import tiny, tokens
from vlmtrain.families.real_template import RealTemplate

FAMILY = Family(
    name="qwen2_vl",
    model_types=("qwen2_vl",),
    image_token="<|image_pad|>",
    image_related_tokens=("<|vision_start|>", "<|vision_end|>", "<|video_pad|>"),
    vision_tower="model.visual",
    projector="model.visual.merger",
    fsdp_wrap_classes=("Qwen2VLDecoderLayer", "Qwen2VLVisionBlock"),
    model_class="Qwen2VLForConditionalGeneration",
    processor_class="Qwen2VLProcessor",
    template=RealTemplate("Qwen/Qwen2-VL-7B-Instruct", "Liger-Kernel test config; openvino.genai"),
    tiny=tiny.TINY,
    rule=tokens.RULE,
    video=tokens.VIDEO,
    packing="mrope",
    rope_index_class="Qwen2VLModel",
)
