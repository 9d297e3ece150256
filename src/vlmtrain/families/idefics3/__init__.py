"""Idefics3: each image becomes `<fake_token_around_image><global-img><image>*image_seq_len
<fake_token_around_image>` (with `<row_i_col_j>` tiles when image splitting is on).

pixel_values are per row: (rows, max_images, 3, H, W) with all-zero padding images, so text-only rows
get zeros (the model drops all-zero images) — hence `per_row_keys`. Header rule: tokens.py (the
splitting grid); tiny model: tiny.py.
"""

from __future__ import annotations

from vlmtrain.families.base import Family
from vlmtrain.families.idefics3 import tiny, tokens

FAMILY = Family(
    name="idefics3",
    model_types=("idefics3",),
    image_token="<image>",
    image_related_tokens=("<fake_token_around_image>", "<global-img>"),
    image_related_pattern=r"<row_\d+_col_\d+>",
    vision_tower="model.vision_model",
    projector="model.connector",
    language_model="model.text_model",
    fsdp_wrap_classes=("LlamaDecoderLayer", "Idefics3EncoderLayer"),
    model_class="Idefics3ForConditionalGeneration",
    processor_class="Idefics3Processor",
    tiny=tiny.TINY,
    rule=tokens.RULE,
    per_row_keys=("pixel_values", "pixel_attention_mask"),
)
