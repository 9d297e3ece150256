"""LLaVA-1.5 (llava-hf): one `<image>` expanded to (size/patch)^2 tokens (576 at 336/14), CLIP or SigLIP
tower. llava-hf's template ends an assistant turn with a space and no EOS, so EOS is inserted
(`add_eos_after_assistant`). Why: LLaVA-1.5 was trained in LLaVA's own format (vicuna_v1), where "</s>"
closes every answer, and generation stops at EOS; without it the model is never taught to stop. The cost:
an earlier answer in a multi-turn record holds that "</s>" where the llava-hf template's inference history
does not (tests/train/test_real_templates.py checks it is the only difference from the real prompt).
Header rule: tokens.py (fixed size); tiny model: tiny.py."""

from __future__ import annotations

from vlmtrain.families.base import Family
from vlmtrain.families.llava import tiny, tokens
from vlmtrain.families.real_template import RealTemplate

LM_LAYERS = (
    "LlamaDecoderLayer",
    "MistralDecoderLayer",
    "Qwen2DecoderLayer",
    "GraniteDecoderLayer",
    "GemmaDecoderLayer",
    "VicunaDecoderLayer",
)
VISION_LAYERS = ("CLIPEncoderLayer", "SiglipEncoderLayer")


FAMILY = Family(
    name="llava",
    model_types=("llava",),
    image_token="<image>",
    fsdp_wrap_classes=LM_LAYERS + VISION_LAYERS,
    model_class="LlavaForConditionalGeneration",
    processor_class="LlavaProcessor",
    template=RealTemplate("llava-hf/llava-1.5-7b-hf", "openvino.genai; transformers' processor test"),
    tiny=tiny.TINY,
    rule=tokens.RULE,
    add_eos_after_assistant=True,
)
