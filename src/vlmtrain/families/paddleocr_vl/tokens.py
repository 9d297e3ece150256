"""PaddleOCR-VL: `<|IMAGE_START|><|IMAGE_PLACEHOLDER|> x N<|IMAGE_END|>`, N = grid_h * grid_w / merge^2.

    patch 14, merge 2, min 147384, max 2822400 (the checkpoints'):
      640x480 -> resized 644x476 -> grid 34x46 -> 391 tokens
      1x1     -> raised to 28x28 first -> below min_pixels -> 392x392 -> grid 28x28 -> 196 tokens

PaddleOCR-VL's `smart_resize` is Qwen2-VL's (qwen2_vl/tokens.py) after one step of its own: a side shorter
than patch*merge is raised to it and the other side scaled by the same factor (rounded), so 1 px images
and thin strips are taken instead of refused. Aspect ratios over 200 after that step raise, as in the
processor.
"""

from __future__ import annotations

from vlmtrain.encoding.expansion import Expansion, TokenRule
from vlmtrain.families.qwen2_vl.tokens import expand as qwen2_vl_expand
from vlmtrain.families.qwen2_vl.tokens import smart_resize as qwen2_vl_smart_resize
from vlmtrain.families.qwen2_vl.tokens import unsupported


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """transformers' PaddleOCR-VL `smart_resize`: short sides raised to `factor`, then Qwen2-VL's rule."""
    if height < factor:
        width = round((width * factor) / height)
        height = factor
    if width < factor:
        height = round((height * factor) / width)
        width = factor
    return qwen2_vl_smart_resize(height, width, factor, min_pixels, max_pixels)


def expand(processor, width: int, height: int) -> Expansion:
    return qwen2_vl_expand(processor, width, height, resize=smart_resize)


RULE = TokenRule(unsupported=unsupported, expand=expand)
