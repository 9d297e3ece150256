"""Gemma3: the template writes `<start_of_image>`; the processor expands it to
"\\n\\n<start_of_image><image_soft_token>*mm_tokens_per_image<end_of_image>\\n\\n" (the added newlines are why
labels are carried over by segment alignment) and returns `token_type_ids` (1 on image tokens), which the
model requires in training; text-only rows get zeros. Header rule: tokens.py; tiny model: tiny.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.families.base import Family
from vlmtrain.families.gemma3 import tiny, tokens


@dataclass
class Gemma3Family(Family):
    def count_unsupported(self, processor):
        return tokens.unsupported(processor)

    def image_placeholder(self, processor):
        return tokens.placeholder(processor)

    def expand_image(self, processor, width, height):
        return tokens.expand(processor, width, height)

    def build_tiny(self, out_dir):
        tiny.build(out_dir)


FAMILY = Gemma3Family(
    name="gemma3",
    model_types=("gemma3",),
    image_token="<image_soft_token>",
    image_related_tokens=("<start_of_image>", "<end_of_image>"),
    vision_tower="model.vision_tower",
    projector="model.multi_modal_projector",
    language_model="model.language_model",
    lm_layers="model.language_model.layers",
    fsdp_wrap_classes=("Gemma3DecoderLayer", "SiglipEncoderLayer"),
    model_class="Gemma3ForConditionalGeneration",
    processor_class="Gemma3Processor",
    tiny_end_of_turn=tiny.END_OF_TURN,
    packing=None,
    packing_refusal="its image tokens attend to each other in both directions (token_type_ids), and in a "
    "packed row transformers looks that image block up by per-sample position on its sliding-window layers, "
    "so a later sample's tokens would attend inside another sample's image block",
)
