"""Qwen2.5-VL: same token layout, inputs and header rule as Qwen2-VL (see qwen2_vl/); windowed vision
attention. Its tiny model: tiny.py."""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.families.qwen2_5_vl import tiny
from vlmtrain.families.qwen2_vl import FAMILY as QWEN2_VL
from vlmtrain.families.qwen2_vl import Qwen2VLFamily


@dataclass
class Qwen2_5_VLFamily(Qwen2VLFamily):
    def build_tiny(self, out_dir):
        tiny.build(out_dir)


FAMILY = QWEN2_VL.derive(
    Qwen2_5_VLFamily,
    name="qwen2_5_vl",
    model_types=("qwen2_5_vl",),
    fsdp_wrap_classes=("Qwen2_5_VLDecoderLayer", "Qwen2_5_VLVisionBlock"),
    model_class="Qwen2_5_VLForConditionalGeneration",
    processor_class="Qwen2_5_VLProcessor",
    tiny_end_of_turn=tiny.END_OF_TURN,
    rope_index_class="Qwen2_5_VLModel",
)
