"""SmolVLM: Idefics3's layout, inputs and header rule (see idefics3/); its processor also takes a video
processor. Its tiny model: tiny.py."""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.families.idefics3 import FAMILY as IDEFICS3
from vlmtrain.families.idefics3 import Idefics3Family
from vlmtrain.families.smolvlm import tiny


@dataclass
class SmolVLMFamily(Idefics3Family):
    def build_tiny(self, out_dir):
        tiny.build(out_dir)


FAMILY = IDEFICS3.derive(
    SmolVLMFamily,
    name="smolvlm",
    model_types=("smolvlm",),
    fsdp_wrap_classes=("LlamaDecoderLayer", "SmolVLMEncoderLayer"),
    model_class="SmolVLMForConditionalGeneration",
    processor_class="SmolVLMProcessor",
    tiny_end_of_turn=tiny.END_OF_TURN,
)
