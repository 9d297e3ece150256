"""Gemma 4 unified (gemma-4-12B): the same header rule as Gemma 4, imported from there, because
Gemma4UnifiedImageProcessor resizes with the same `get_aspect_ratio_preserving_size` (patch 16, pooling 3,
max_soft_tokens 280 on the checkpoint) and Gemma4UnifiedProcessor expands `<|image|>` the same way:

    640x480 -> 912x672 px -> 57 x 42 patches -> 2394 / 9 = 266 soft tokens (+ <|image> and <image|>)

Only the pixels differ downstream (raw merged 48 px patches instead of a vision tower's features).
"""

from __future__ import annotations

from vlmtrain.families.gemma4.tokens import RULE

__all__ = ["RULE"]
