"""DeepSeek-OCR-2 (DeepseekOcr2Processor): the template writes `<image>` per image; the processor
replaces it with one run of `<image>` tokens, the features of the image's local crops, its global view
and a view separator (the model's order; the count alone is the processor's):

    global view  ceil(size / patch_size / downsample_ratio)^2       (1024 px, patch 16, ratio 4 -> 256)
    each crop    ceil(tile_size / patch_size / downsample_ratio)^2  (768 px -> 144)
    n tokens =   global + crops x each crop + 1

    checkpoint (1024 px global view, 768 px crops, 2..6 crops), 4000x3000:
        crops 4 x 3 is over 6 -> the canvas 3 x 2 (closest aspect ratio among 2..6 tiles) -> 6 crops
        256 + 6 x 144 + 1 = 1121 tokens;  640x480 (not over 768 px) -> no crops, 256 + 1 = 257

Crops only when crop_to_patches is on and the image's longer side exceeds tile_size; the grid is
`get_optimal_tiled_canvas` over (columns, rows) with min_patches <= columns x rows <= max_patches,
sorted by tile count, the closest aspect ratio, a tie going to the larger grid while the image's area
exceeds half the grid's pixel area (as InternVL's GotOcr2 tiling). The processor's call-time defaults
(`images_kwargs`: crop_to_patches on, 2..6 crops) are read the way the processor merges them.
"""

from __future__ import annotations

import functools
import math

from vlmtrain.encoding.expansion import Expansion, TokenRule, image_token_run, size_get


@functools.lru_cache(maxsize=16)
def _grids(min_tiles: int, max_tiles: int) -> tuple[tuple[int, int], ...]:
    grids = [
        (w, h)
        for w in range(1, max_tiles + 1)
        for h in range(1, max_tiles + 1)
        if min_tiles <= w * h <= max_tiles
    ]
    return tuple(sorted(grids, key=lambda g: g[0] * g[1]))  # stable: the processor's order


def best_grid(width: int, height: int, tile: int, min_tiles: int, max_tiles: int) -> tuple[int, int]:
    """(columns, rows): `get_optimal_tiled_canvas` step for step."""
    aspect, area = width / height, width * height
    best, best_diff = (1, 1), float("inf")
    for grid in _grids(min_tiles, max_tiles):
        diff = abs(aspect - grid[0] / grid[1])
        if diff < best_diff:
            best, best_diff = grid, diff
        elif diff == best_diff and area > 0.5 * tile * tile * grid[0] * grid[1]:
            best = grid
    return best


@functools.lru_cache(maxsize=16)
def _merged_images_kwargs(processor) -> dict:
    # The processor's own resolution of its call-time defaults; once per processor.
    return processor._merge_kwargs(tokenizer_init_kwargs=processor.tokenizer.init_kwargs)["images_kwargs"]


def settings(processor) -> dict:
    """crop_to_patches, min_patches, max_patches, tile_size and the global size as a call resolves them."""
    ip = processor.image_processor
    merged = _merged_images_kwargs(processor)
    keys = ("crop_to_patches", "min_patches", "max_patches", "tile_size")
    out = {k: merged.get(k) if merged.get(k) is not None else getattr(ip, k) for k in keys}
    out["size"] = size_get(merged.get("size") or ip.size, "height")
    return out


def unsupported(processor) -> str | None:
    ip = processor.image_processor
    if not getattr(ip, "do_resize", True):
        return "do_resize is off"
    size = ip.size
    if size_get(size, "height") is None or size_get(size, "height") != size_get(size, "width"):
        return "image processor size is not a square height/width"
    if not settings(processor)["crop_to_patches"]:
        # The processor then makes a tile_size global view but still counts a `size` one.
        return "crop_to_patches is off (the processor's count and its global view disagree)"
    return None


def _tokens(processor, side: int) -> int:
    return math.ceil(side / processor.patch_size / processor.downsample_ratio) ** 2


def crops(s: dict, width: int, height: int) -> int:
    if not (s["crop_to_patches"] and max(width, height) > s["tile_size"]):
        return 0
    cols, rows = best_grid(width, height, s["tile_size"], s["min_patches"], s["max_patches"])
    return cols * rows


def refusal(processor, width: int, height: int) -> str | None:
    """The global view is resized to `size` on its longer side; a side that rounds to 0 px fails."""
    side = settings(processor)["size"]
    scale = side / max(width, height)
    if round(width * scale) < 1 or round(height * scale) < 1:
        return f"image is {width}x{height} px: its global view ({side} px on the longer side) has a 0 px side"
    return None


def expand(processor, width: int, height: int) -> Expansion:
    why = refusal(processor, width, height)
    if why:
        raise ValueError(why)
    s = settings(processor)
    n = _tokens(processor, s["size"]) + crops(s, width, height) * _tokens(processor, s["tile_size"]) + 1
    return image_token_run(processor, n)


RULE = TokenRule(unsupported=unsupported, expand=expand, refusal=refusal)
