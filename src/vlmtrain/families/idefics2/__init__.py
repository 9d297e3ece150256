"""Idefics2 (HuggingFaceM4/idefics2-8b): each image becomes `<fake_token_around_image>` + `<image>` x 64
(perceiver latents) + `<fake_token_around_image>`, five times with image splitting, size-independent.

Idefics3's layout otherwise: pixel_values per row (rows, max_images, 3, H, W) with all-zero padding
images the model drops, hence `per_row_keys`; the perceiver resampler is part of `model.connector`.
Header rule: tokens.py (incl. the processor's rewrite of the text around images); tiny model: tiny.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.families.idefics2 import tiny, tokens
from vlmtrain.families.idefics3 import FAMILY as IDEFICS3
from vlmtrain.families.idefics3 import Idefics3Family


@dataclass
class Idefics2Family(Idefics3Family):
    def count_unsupported(self, processor):
        return tokens.unsupported(processor)

    def expand_image(self, processor, width, height):
        return tokens.expand(processor, width, height)

    def rewrite_expanded(self, processor, text):
        return tokens.rewrite(processor, text)

    def image_refusal(self, processor, width, height):
        return tokens.refusal(processor, width, height)

    def build_tiny(self, out_dir):
        tiny.build(out_dir)


FAMILY = IDEFICS3.derive(
    Idefics2Family,
    name="idefics2",
    model_types=("idefics2",),
    image_related_pattern=None,  # no <row_i_col_j> tags
    image_related_tokens=("<fake_token_around_image>",),
    fsdp_wrap_classes=("MistralDecoderLayer", "Idefics2EncoderLayer"),
    model_class="Idefics2ForConditionalGeneration",
    processor_class="Idefics2Processor",
    tiny_end_of_turn=tiny.END_OF_TURN,
)
