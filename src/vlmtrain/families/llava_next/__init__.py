"""LLaVA-NeXT and Granite Vision: `<image>` expanded by anyres tiling, so the count depends on each
image's original size (a real Granite processor: 1,485 tokens at 384x384, 2,929 at 640x480).

pixel_values are (images, tiles, 3, H, W), tiles padded to the most in the call, with `image_sizes`
(images, 2); the model reads the real tile count from image_sizes, so zero-padding tiles in collate is safe.
Header rule: tokens.py (anyres); tiny model: tiny.py.
"""

from __future__ import annotations

from vlmtrain.families.llava import FAMILY as LLAVA
from vlmtrain.families.llava_next import tiny, tokens

FAMILY = LLAVA.derive(
    name="llava_next",
    model_types=("llava_next",),
    model_class="LlavaNextForConditionalGeneration",
    processor_class="LlavaNextProcessor",
    tiny=tiny.TINY,
    rule=tokens.RULE,
    eos_after_final_answer=False,  # LLaVA-NeXT templates close the assistant turn themselves
)
