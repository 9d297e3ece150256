"""LLaVA-NeXT and Granite Vision: `<image>` expanded by anyres tiling, so the count depends on each
image's original size (a real Granite processor: 1,485 tokens at 384x384, 2,929 at 640x480).

pixel_values are (images, tiles, 3, H, W), tiles padded to the most in the call, with `image_sizes`
(images, 2); the model reads the real tile count from image_sizes, so zero-padding tiles in collate is safe.
Header rule: tokens.py (anyres); tiny model: tiny.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.families.base import Family
from vlmtrain.families.llava import FAMILY as LLAVA
from vlmtrain.families.llava_next import tiny, tokens


@dataclass
class LlavaNextFamily(Family):
    def count_unsupported(self, processor):
        return tokens.unsupported(processor)

    def expand_image(self, processor, width, height):
        return tokens.expand(processor, width, height)

    def build_tiny(self, out_dir):
        tiny.build(out_dir)


FAMILY = LLAVA.derive(
    LlavaNextFamily,
    name="llava_next",
    model_types=("llava_next",),
    model_class="LlavaNextForConditionalGeneration",
    processor_class="LlavaNextProcessor",
    tiny_end_of_turn=tiny.END_OF_TURN,
    add_eos_after_assistant=False,  # LLaVA-NeXT templates close the assistant turn themselves
)
