"""SmolVLM: Idefics3's layout, inputs and header rule (see idefics3/); its processor also takes a video
processor. Its tiny model: tiny.py."""

from __future__ import annotations

from vlmtrain.families.idefics3 import FAMILY as IDEFICS3
from vlmtrain.families.smolvlm import tiny

FAMILY = IDEFICS3.derive(
    name="smolvlm",
    model_types=("smolvlm",),
    fsdp_wrap_classes=("LlamaDecoderLayer", "SmolVLMEncoderLayer"),
    model_class="SmolVLMForConditionalGeneration",
    processor_class="SmolVLMProcessor",
    tiny=tiny.TINY,
)
