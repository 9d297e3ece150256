"""Ovis2.5 (`ovis2_5`, Ovis2_5ForConditionalGeneration; ovis-community/Ovis2.5-2B, -9B): the template writes
`<|image_pad|>` per image and Ovis2_5Processor expands it to `<ovis_image_start>` + `<|image_pad|>` x n +
`<ovis_image_end>`, n = grid_h * grid_w / 4 from Ovis2.5's smart_resize (patch 16, merge 2; header rule in
tokens.py). The model replaces the run with the visual tokenizer's embeddings (a soft lookup into its
visual vocabulary) and the start/end tokens with learned indicator embeddings. The language model is
Qwen3 (1-D RoPE), so packed samples restart their position ids and the vision tower encodes each image
alone: packing is exact.

Video: refused. Ovis2_5VideoProcessor samples no frames itself (transformers' defaults: no fps, no frame
count, `do_sample_frames` off), so which frames a video becomes is not a rule the collator can follow.

Template: unverified. No copy of ovis-community/Ovis2.5-2B's (or AIDC-AI/Ovis2.5's) published chat
template was found (a transformers conversion script takes it from the source tokenizer), so the tiny
model carries the family's own ChatML (tiny.py), typed parts in every role, no thinking block.
"""

from __future__ import annotations

from vlmtrain.encoding.expansion import TokenRule
from vlmtrain.families.base import Family
from vlmtrain.families.ovis2_5 import tiny, tokens
from vlmtrain.families.qwen2_vl.tokens import unsupported as pixel_budget_unsupported

FAMILY = Family(
    name="ovis2_5",
    model_types=("ovis2_5",),
    image_token=tiny.NAMED["image_token"],
    image_related_tokens=(
        tiny.NAMED["image_start_token"],
        tiny.NAMED["image_end_token"],
        tiny.NAMED["video_token"],
        tiny.NAMED["video_start_token"],
        tiny.NAMED["video_end_token"],
    ),
    fsdp_wrap_classes=("Qwen3DecoderLayer", "Ovis2_5VisionEncoderLayer"),
    model_class="Ovis2_5ForConditionalGeneration",
    processor_class="Ovis2_5Processor",
    tiny=tiny.TINY,
    # Qwen2-VL's pixel-budget settings check, this family's count and refusal
    rule=TokenRule(unsupported=pixel_budget_unsupported, expand=tokens.expand, refusal=tokens.refusal),
    video_refusal=(
        "Ovis2_5VideoProcessor samples no frames itself (no fps or frame count), so the frames a video "
        "becomes are not a rule the collator can follow"
    ),
)
