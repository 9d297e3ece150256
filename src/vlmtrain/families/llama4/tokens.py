"""Llama 4: the template writes `<|image|>` per image; Llama4Processor replaces it with the image's tiles
and a global view, each tile `(tile // patch_size)^2 / downsample_ratio` `<|patch|>` tokens (the vision
encoder's patches after the pixel shuffle, ratio 0.5 -> 4x fewer):

    one tile (the image fits one 336 px canvas):  <|image_start|><|image|><|patch|>*n<|image_end|>
    a ratio_h x ratio_w canvas of tiles:           <|image_start|>
        per row: (<|patch|>*n<|tile_x_separator|>) * (ratio_w - 1) + <|patch|>*n + <|tile_y_separator|>
        then the global image:                     <|image|><|patch|>*n<|image_end|>

    checkpoint (336 px tiles, patch 14, ratio 0.5 -> n = 144, max_patches 16), 4000x3000:
        canvas 3 x 4 tiles -> 1 + 3 * (4 * 144 + 3 + 1) + 1 + 144 + 1 = 1887 tokens

The canvas is Llama4ImageProcessor's `get_best_fit` over `find_supported_resolutions(max_patches)`:
the smallest upscale that fits the image without distortion, else the least downscale, ties to the
smallest area, first in the processor's order. Its scales are float32 divisions; `_f32` rounds the same
way (a float64 quotient rounded to float32 is the correctly rounded float32 quotient), so the canvas, and
with it the count, is the processor's exactly.
"""

from __future__ import annotations

import struct

from vlmtrain.encoding.expansion import Expansion, TokenRule, processor_attr, size_get

START, END = "<|image_start|>", "<|image_end|>"
X_SEP, Y_SEP, PATCH = "<|tile_x_separator|>", "<|tile_y_separator|>", "<|patch|>"


def placeholder(processor) -> str:
    return processor.fake_image_token


def unsupported(processor) -> str | None:
    ip = processor.image_processor
    if not getattr(ip, "do_resize", True):
        return "do_resize is off (the image processor refuses it)"
    tile_h, tile_w = size_get(ip.size, "height"), size_get(ip.size, "width")
    if tile_h is None or tile_h != tile_w:
        return "image processor size is not a square height/width tile"
    if processor_attr(processor, "resize_to_max_canvas", False):
        return "resize_to_max_canvas is on"
    marks = (processor.start_of_img_token, processor.end_of_img_token, processor.img_patch_token)
    if marks != (START, END, PATCH) or (processor.tile_token, processor.tile_global_token) != (X_SEP, Y_SEP):
        return "the processor's image tokens are not Llama 4's (it writes its own fixed strings)"
    return None


def _f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def _resolutions(max_tiles: int, tile: int) -> list[tuple[int, int]]:
    """find_supported_resolutions: canvases of up to max_tiles tiles, grouped by aspect ratio in order."""
    by_ratio: dict[float, list[tuple[int, int]]] = {}
    for chunks in range(max_tiles, 0, -1):
        for h in sorted({d for d in range(1, chunks + 1) if chunks % d == 0}):
            by_ratio.setdefault(h / (chunks // h), []).append((h, chunks // h))
    return [(h * tile, w * tile) for group in by_ratio.values() for h, w in group]


def canvas(processor, width: int, height: int) -> tuple[int, int]:
    """(ratio_h, ratio_w): the tile grid Llama4ImageProcessor resizes and pads this image to."""
    ip = processor.image_processor
    tile = size_get(ip.size, "height")
    options = _resolutions(processor_attr(processor, "max_patches", 16), tile)
    scales = [min(_f32(th / height), _f32(tw / width)) for th, tw in options]
    up = [s for s in scales if s >= 1]
    chosen = min(up) if up else max(s for s in scales if s < 1)
    fits = [res for res, s in zip(options, scales, strict=True) if s == chosen]
    best = min(fits, key=lambda r: r[0] * r[1])  # first of the smallest area, as torch.argmin
    return best[0] // tile, best[1] // tile


def expand(processor, width: int, height: int) -> Expansion:
    tile = size_get(processor.image_processor.size, "height")
    n = (tile // processor.patch_size) ** 2 // processor.downsample_ratio
    rows, cols = canvas(processor, width, height)
    text, runs, fixed = START, 1, 3  # start, <|image|>, end
    if rows * cols > 1:
        text += ((PATCH + X_SEP) * (cols - 1) + PATCH + Y_SEP) * rows
        runs += rows * cols
        fixed += rows * cols  # one separator after each tile: x between, y closing each row
    text += processor.fake_image_token + PATCH + END
    return Expansion(text=text, extra=runs * (n - 1), image_tokens=runs * n + fixed)


RULE = TokenRule(unsupported=unsupported, expand=expand, placeholder=placeholder)
