"""Qwen2.5-VL: same token layout and inputs as Qwen2-VL (see qwen2_vl.py); windowed vision attention."""

from dataclasses import replace

from vlmtrain.families.qwen2_vl import FAMILY as QWEN2_VL

FAMILY = replace(
    QWEN2_VL,
    name="qwen2_5_vl",
    model_types=("qwen2_5_vl",),
    fsdp_wrap_classes=("Qwen2_5_VLDecoderLayer", "Qwen2_5_VLVisionBlock"),
    model_class="Qwen2_5_VLForConditionalGeneration",
    processor_class="Qwen2_5_VLProcessor",
    rope_index_class="Qwen2_5_VLModel",
)
