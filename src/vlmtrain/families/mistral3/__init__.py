"""Mistral Small 3.1/3.2 (Mistral3ForConditionalGeneration, Pixtral vision tower, PixtralProcessor): the
template writes one `[IMG]` per image; the processor expands it to rows of `[IMG]` closed by `[IMG_BREAK]`
(the last by `[IMG_END]`), 28 px per token after a 2x2 spatial merge. PixtralProcessor needs torchvision.
Header rule: tokens.py; tiny model: tiny.py."""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.families.base import Family
from vlmtrain.families.mistral3 import tiny, tokens


@dataclass
class Mistral3Family(Family):
    def count_unsupported(self, processor):
        return tokens.unsupported(processor)

    def expand_image(self, processor, width, height):
        return tokens.expand(processor, width, height)

    def image_refusal(self, processor, width, height):
        return tokens.refusal(processor, width, height)

    def build_tiny(self, out_dir):
        tiny.build(out_dir)


FAMILY = Mistral3Family(
    name="mistral3",
    model_types=("mistral3",),
    image_token="[IMG]",
    image_related_tokens=("[IMG_BREAK]", "[IMG_END]"),
    vision_tower="model.vision_tower",
    projector="model.multi_modal_projector",
    language_model="model.language_model",
    lm_layers="model.language_model.layers",
    fsdp_wrap_classes=("MistralDecoderLayer", "PixtralAttentionLayer"),
    model_class="Mistral3ForConditionalGeneration",
    processor_class="PixtralProcessor",
    tiny_end_of_turn=tiny.END_OF_TURN,
    needs_torchvision=True,
)
