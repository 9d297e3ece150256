"""LLaVA-1.5 (llava-hf): one `<image>` expanded to (size/patch)^2 tokens (576 at 336/14), CLIP or SigLIP
tower. llava-hf's template closes no answer: it writes "ASSISTANT: text " and then "USER:", no EOS. LLaVA-1.5 was
trained in LLaVA's own format (vicuna_v1), where "</s>" closes every answer, and generation stops at EOS
only (" USER:" is no stop token). Training inserts nothing between turns, so the tokens before every
answer are the llava-hf template's inference prompt (tested token for token); the final answer, after
which the template writes only a space, gets "</s>" appended after the whole render (the space dropped,
as LLaVA's "text</s>"; `eos_after_final_answer`), and that teaches the model to stop. Earlier answers of a
multi-turn record train without a stop: the template puts no EOS there, inserting one would make the
training history differ from what the model is prompted with, and training the " USER:" that follows
would teach `predict` to run on into a made-up user turn (`history_stop` stays "").
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
    eos_after_final_answer=True,
)
