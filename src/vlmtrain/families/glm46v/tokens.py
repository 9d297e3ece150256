"""GLM-4.6V (`glm46v`): GLM-4.1V's rule, imported, because the image side is the same code.

    patch 14, merge 2, size 12544 .. 9633792 pixels: 640x480 -> 644x476 -> 391 tokens

transformers 5.25's `Glm46VImageProcessor`/`Glm46VImageProcessorPil` subclass GLM-4.1V's image processors
without overriding anything, and `Glm46VProcessor.replace_image_token` writes `<|image|>` x
prod(image_grid_thw) / merge^2 as Glm4vProcessor does; only its video frames' text differs (seconds with
one decimal, "3.0 seconds"), and video is refused by this family. So the count is glm4v's `count`:
GLM's own smart_resize, a still image counted as `temporal_patch_size` frames of the pixel budget.
"""

from __future__ import annotations

from vlmtrain.families.glm4v.tokens import count, expand

__all__ = ["count", "expand"]
