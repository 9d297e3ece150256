"""LLaVA-1.5 (llava-hf): one `<image>` expanded to (size/patch)^2 tokens (576 at 336/14), CLIP or SigLIP
tower. llava-hf's template ends an assistant turn with a space and no EOS, so EOS is inserted.
Header rule: tokens.py (fixed size); tiny model: tiny.py."""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.families.base import Family
from vlmtrain.families.llava import tiny, tokens

LM_LAYERS = (
    "LlamaDecoderLayer",
    "MistralDecoderLayer",
    "Qwen2DecoderLayer",
    "GraniteDecoderLayer",
    "GemmaDecoderLayer",
    "VicunaDecoderLayer",
)
VISION_LAYERS = ("CLIPEncoderLayer", "SiglipEncoderLayer")


@dataclass
class LlavaFamily(Family):
    def count_unsupported(self, processor):
        return tokens.unsupported(processor)

    def expand_image(self, processor, width, height):
        return tokens.expand(processor, width, height)

    def build_tiny(self, out_dir):
        tiny.build(out_dir)


FAMILY = LlavaFamily(
    name="llava",
    model_types=("llava",),
    image_token="<image>",
    vision_tower="model.vision_tower",
    projector="model.multi_modal_projector",
    language_model="model.language_model",
    lm_layers="model.language_model.layers",
    fsdp_wrap_classes=LM_LAYERS + VISION_LAYERS,
    model_class="LlavaForConditionalGeneration",
    processor_class="LlavaProcessor",
    tiny_end_of_turn=tiny.END_OF_TURN,
    add_eos_after_assistant=True,
)
