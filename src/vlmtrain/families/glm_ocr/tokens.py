"""GLM-OCR (`glm_ocr`): GLM-4.1V's rule, imported; its checkpoint configures GLM-4.6V's processor classes.

    zai-org/GLM-OCR preprocessor_config.json: Glm46VImageProcessor, Glm46VProcessor, patch 14, merge 2,
    temporal patch 2, size 12544 .. 9633792 pixels (CLIP mean/std)
    4000x3000 -> grid 134 x 180 patches -> 6030 tokens; 640x480 -> 391

`Glm46VImageProcessor` is GLM-4.1V's image processor unchanged (see glm46v/tokens.py), so the count is
glm4v's `count` (GLM's smart_resize; a still image is `temporal_patch_size` frames of the budget).
"""

from __future__ import annotations

from vlmtrain.families.glm4v.tokens import count, expand

__all__ = ["count", "expand"]
