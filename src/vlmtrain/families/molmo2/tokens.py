"""Molmo2: each `<|image|>` becomes a low-resolution view of the whole image, then the high-resolution
view built from overlapping crops, each a grid of `<im_patch>` rows pooled 2 x 2, every row closed by
`<im_col>` (the checkpoints' `image_use_col_tokens`):

    <low_res_im_start> (<im_patch> x rw <im_col>) x rh <im_end> <im_start> (<im_patch> x W <im_col>) x H <im_end>

rh, rw: the crop (378 px / patch 14 = 27 patches) pooled, ceil(27 / 2) = 14. H, W: the canvas of the
chosen tiling pooled. The tiling is the (rows, cols) of at most `max_crops` crops whose windows (the crop
less the overlap margins, 27 - 4 - 4 = 19 patches = 266 px) best fit the image less the margins, chosen in
float32 exactly as Molmo2ImageProcessor's `select_tiling`; the canvas is tiling x window + margins.

    Molmo2-4B/-8B (378 px crops, patch 14, margins 4 + 4, up to 8 crops, pooling 2 x 2):
      640x480 -> tiling 2 x 2 -> canvas 644 x 644 px -> 46 x 46 patches -> H 23, W 23:
      (14 + 1) * 14 + 2 + (23 + 1) * 23 + 2 = 766 tokens
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from vlmtrain.encoding.expansion import Expansion, TokenRule

PATCH, COL = "<im_patch>", "<im_col>"
LOW_START, START, END = "<low_res_im_start>", "<im_start>", "<im_end>"


def unsupported(processor) -> str | None:
    size = processor.image_processor.size
    if size.get("height") != size.get("width"):
        return "image processor size is not square (Molmo2ImageProcessor refuses it)"
    return None


def select_tiling(height: int, width: int, window: int, max_crops: int) -> tuple[int, int]:
    """Molmo2's `select_tiling`, the same float32 operations (torch's and numpy's float32 division and
    min agree bit for bit; the first index wins ties in both)."""
    tilings = [(h, w) for h, w in itertools.product(range(1, max_crops + 1), repeat=2) if h * w <= max_crops]
    tilings.sort(key=lambda t: (t[0] * t[1], t[0]))
    candidates = (np.array(tilings, dtype=np.int32) * window).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = candidates / np.array([height, width], dtype=np.float32)
    scale = scales.min(axis=-1)
    if np.all(scale < 1):
        return tilings[int(scale.argmax())]
    scale = np.where(scale < 1.0, np.float32(10e9), scale)
    return tilings[int(scale.argmin())]


def grids(processor, width: int, height: int) -> tuple[int, int, int, int]:
    """-> (low-res rows, low-res cols, high-res rows, high-res cols) of pooled patches."""
    ip = processor.image_processor
    crop, patch = ip.size["height"], ip.patch_size
    pool_h, pool_w = ip.pooling_size
    left, right = ip.overlap_margins
    window = (crop // patch - (left + right)) * patch
    margin = (left + right) * patch
    tiling_h, tiling_w = select_tiling(height - margin, width - margin, window, ip.max_crops)
    canvas_h, canvas_w = tiling_h * window + margin, tiling_w * window + margin
    return (
        math.ceil((crop // patch) / pool_h),
        math.ceil((crop // patch) / pool_w),
        math.ceil((canvas_h // patch) / pool_h),
        math.ceil((canvas_w // patch) / pool_w),
    )


def expand(processor, width: int, height: int) -> Expansion:
    low_h, low_w, high_h, high_w = grids(processor, width, height)
    col = processor.image_use_col_tokens
    low_col = col if processor.use_single_crop_col_tokens is None else processor.use_single_crop_col_tokens
    low_start = LOW_START if processor.use_single_crop_start_token else START
    text = low_start + (PATCH + (COL if low_col else "")) * low_h + END
    text += START + (PATCH + (COL if col else "")) * high_h + END
    extra = low_h * (low_w - 1) + high_h * (high_w - 1)
    fixed = 4 + (low_h if low_col else 0) + (high_h if col else 0)
    return Expansion(text=text, extra=extra, image_tokens=low_h * low_w + high_h * high_w + fixed)


RULE = TokenRule(unsupported=unsupported, expand=expand)
