"""Idefics2 (HuggingFaceM4/idefics2-8b): each image becomes `<fake_token_around_image>` + `<image>` x 64
(perceiver latents) + `<fake_token_around_image>`, five times with image splitting, size-independent.

Idefics3's layout otherwise: pixel_values per row (rows, max_images, 3, H, W) with all-zero padding
images the model drops, hence `per_row_keys`; the perceiver resampler is part of `model.connector`.
Header rule: tokens.py (incl. the processor's rewrite of the text around images); tiny model: tiny.py.

The tiny model carries HuggingFaceM4/idefics2-8b's published template (its processor_config.json's
`chat_template`; vlmtrain/real_models/): every role's typed parts, `<end_of_utterance>\n` after each turn.
"""

from __future__ import annotations

from vlmtrain.families.idefics2 import tiny, tokens
from vlmtrain.families.idefics3 import FAMILY as IDEFICS3
from vlmtrain.families.real_template import RealTemplate

FAMILY = IDEFICS3.derive(
    name="idefics2",
    model_types=("idefics2",),
    image_related_pattern=None,  # no <row_i_col_j> tags
    image_related_tokens=("<fake_token_around_image>",),
    fsdp_wrap_classes=("MistralDecoderLayer", "Idefics2EncoderLayer"),
    model_class="Idefics2ForConditionalGeneration",
    processor_class="Idefics2Processor",
    tiny=tiny.TINY,
    rule=tokens.RULE,
    template=RealTemplate("HuggingFaceM4/idefics2-8b", "processor_config.json as quoted in three code files"),
)
