"""Qwen2.5-VL: same token layout, inputs and header rule as Qwen2-VL (see qwen2_vl/); windowed vision
attention. Its tiny model: tiny.py."""

from __future__ import annotations

from vlmtrain.families.qwen2_5_vl import tiny
from vlmtrain.families.qwen2_vl import FAMILY as QWEN2_VL
from vlmtrain.families.real_template import RealTemplate

FAMILY = QWEN2_VL.derive(
    name="qwen2_5_vl",
    model_types=("qwen2_5_vl",),
    fsdp_wrap_classes=("Qwen2_5_VLDecoderLayer", "Qwen2_5_VLVisionBlock"),
    model_class="Qwen2_5_VLForConditionalGeneration",
    processor_class="Qwen2_5_VLProcessor",
    # 3B's own file is not held; the 7B's (byte-identical to Qwen2-VL's) is hash-verified
    template=RealTemplate("Qwen/Qwen2.5-VL-7B-Instruct", "huggingface.js test, hash-verified"),
    tiny=tiny.TINY,
    rope_index_class="Qwen2_5_VLModel",
)
