"""Mistral Small 3.1/3.2 (Mistral3ForConditionalGeneration, Pixtral vision tower, PixtralProcessor): the
template writes one `[IMG]` per image; the processor expands it to rows of `[IMG]` closed by `[IMG_BREAK]`
(the last by `[IMG_END]`), 28 px per token after a 2x2 spatial merge. PixtralProcessor needs torchvision.
Header rule: tokens.py; tiny model: tiny.py."""

from __future__ import annotations

from vlmtrain.families.base import Family
from vlmtrain.families.mistral3 import tiny, tokens

FAMILY = Family(
    name="mistral3",
    model_types=("mistral3",),
    image_token="[IMG]",
    image_related_tokens=("[IMG_BREAK]", "[IMG_END]"),
    fsdp_wrap_classes=("MistralDecoderLayer", "PixtralAttentionLayer"),
    model_class="Mistral3ForConditionalGeneration",
    processor_class="PixtralProcessor",
    tiny=tiny.TINY,
    rule=tokens.RULE,
    needs_torchvision=True,
)
