"""Mistral Small 3.1/3.2 (PixtralProcessor): each `[IMG]` becomes a grid of `[IMG]` tokens, one row per
`patch_size * spatial_merge_size` pixels, each row closed by `[IMG_BREAK]`, the last one by `[IMG_END]`.

    checkpoint (longest_edge 1540, patch 14, merge 2 -> 28 px per token), 640x480:
        no resize (both edges <= 1540); rows = ceil(480/28) = 18, cols = ceil(640/28) = 23
        -> 18 * (23 + 1) = 432 tokens: "[IMG]"*23 + "[IMG_BREAK]", ..., "[IMG]"*23 + "[IMG_END]"

The arithmetic is PixtralImageProcessor's `get_resize_output_image_size` (the same in its PIL twin):
an image over longest_edge is scaled by ratio = max(h / L, w / L) with floor, then each side is rounded up
to a multiple of the token size.
"""

from __future__ import annotations

import math

from vlmtrain.encoding.expansion import Expansion, TokenRule, processor_attr, size_get


def unsupported(processor) -> str | None:
    ip = processor.image_processor
    if not getattr(ip, "do_resize", True):
        return "do_resize is off"
    if size_get(ip.size, "longest_edge") is None:
        return "image processor size has no longest_edge"
    return None


def _scaled(processor, width: int, height: int) -> tuple[int, int]:
    longest = size_get(processor.image_processor.size, "longest_edge")
    ratio = max(height / longest, width / longest)
    if ratio > 1:  # same float division and floor as the image processor
        height, width = int(math.floor(height / ratio)), int(math.floor(width / ratio))
    return width, height


def refusal(processor, width: int, height: int) -> str | None:
    """Why the image processor would raise on this image (None: it takes it): scaling a long thin image
    down to longest_edge floors its short side to 0 px, and both backends refuse a 0-px resize target."""
    w, h = _scaled(processor, width, height)
    if min(w, h) < 1:
        longest = size_get(processor.image_processor.size, "longest_edge")
        return (
            f"image is {width}x{height} px; scaled to the processor's longest_edge {longest} its short side "
            "becomes 0 px, which the Pixtral image processor refuses (pad or drop the image)"
        )
    return None


def grid(processor, width: int, height: int) -> tuple[int, int]:
    """(rows, cols) of image tokens for a width x height image."""
    token_px = processor.patch_size * processor_attr(processor, "spatial_merge_size", 1)
    width, height = _scaled(processor, width, height)
    # The processor resizes to whole tokens (ceil), then counts height // token_px rows.
    return (height - 1) // token_px + 1, (width - 1) // token_px + 1


def expand(processor, width: int, height: int) -> Expansion:
    why = refusal(processor, width, height)
    if why:
        raise ValueError(why)
    rows, cols = grid(processor, width, height)
    img, brk, end = processor.image_token, processor.image_break_token, processor.image_end_token
    # Each row's [IMG] run collapses to one token: text keeps rows * 2 tokens (run + break/end).
    text = (img + brk) * (rows - 1) + img + end
    n = rows * (cols + 1)
    return Expansion(text=text, extra=rows * (cols - 1), image_tokens=n)


RULE = TokenRule(unsupported=unsupported, expand=expand, refusal=refusal)
