"""Gemma3: the template writes `<start_of_image>`; the processor expands it to
"\\n\\n<start_of_image><image_soft_token>*mm_tokens_per_image<end_of_image>\\n\\n" (the added newlines are why
labels are carried over by segment alignment) and returns `token_type_ids` (1 on image tokens), which the
model requires in training; text-only rows get zeros. Header rule: tokens.py; tiny model: tiny.py.

google/gemma-3-4b-it's template folds the system text into the first user turn: a string whole, a list
of parts by its first part's text only, so the system turn is passed as a string (every part's text).
"""

from __future__ import annotations

from vlmtrain.families.base import Family
from vlmtrain.families.gemma3 import tiny, tokens
from vlmtrain.families.real_template import RealTemplate

FAMILY = Family(
    name="gemma3",
    model_types=("gemma3",),
    image_token="<image_soft_token>",
    image_related_tokens=("<start_of_image>", "<end_of_image>"),
    fsdp_wrap_classes=("Gemma3DecoderLayer", "SiglipEncoderLayer"),
    model_class="Gemma3ForConditionalGeneration",
    processor_class="Gemma3Processor",
    string_content_roles=("system",),
    template=RealTemplate(
        "google/gemma-3-4b-it", "transformers' conversion script; Liger-Kernel; openvino.genai"
    ),
    tiny=tiny.TINY,
    rule=tokens.RULE,
    packing=None,
    packing_refusal="its image tokens attend to each other in both directions (token_type_ids), and in a "
    "packed row transformers looks that image block up by per-sample position on its sliding-window layers, "
    "so a later sample's tokens would attend inside another sample's image block",
)
