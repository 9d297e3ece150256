"""SmolVLM: Idefics3's layout, inputs and header rule (see idefics3/); its processor also takes a video
processor. Its tiny model: tiny.py."""

from __future__ import annotations

from vlmtrain.families.idefics3 import FAMILY as IDEFICS3
from vlmtrain.families.real_template import RealTemplate
from vlmtrain.families.smolvlm import tiny

FAMILY = IDEFICS3.derive(
    name="smolvlm",
    model_types=("smolvlm",),
    fsdp_wrap_classes=("LlamaDecoderLayer", "SmolVLMEncoderLayer"),
    model_class="SmolVLMForConditionalGeneration",
    processor_class="SmolVLMProcessor",
    # SmolVLM-256M-Instruct's own file is not held; SmolVLM-Instruct and SmolVLM2 publish this one
    template=RealTemplate(
        "HuggingFaceTB/SmolVLM2-256M-Video-Instruct", "Liger-Kernel; transformers' processor test"
    ),
    tiny=tiny.TINY,
)
