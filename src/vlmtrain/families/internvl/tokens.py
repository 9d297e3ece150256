"""InternVL (transformers-native, InternVLProcessor + GotOcr2 image processor): each image becomes
`<img>` + `<IMG_CONTEXT>` x (image_seq_length x tiles) + `</img>`.

Tiles, as `GotOcr2ImageProcessor.crop_image_to_patches` picks them when crop_to_patches is on and
max_patches > 1: among the (columns, rows) grids with min_patches <= columns x rows <= max_patches,
sorted by tile count, the one whose columns/rows is closest to the image's width/height; on a tie the
later (larger) grid wins while the image's area exceeds half the grid's pixel area. A grid of more than
one tile adds a thumbnail tile. The processor class turns crop_to_patches on at call time (its
`images_kwargs` default) even when the checkpoint's preprocessor_config.json says false, so the
setting is read the way the processor merges it, not from the image processor alone.
    OpenGVLab/InternVL3-1B-hf (448 px tiles, 256 tokens a tile, 1..12 tiles): 640x480 -> a 4x3 grid
    + thumbnail, 13 x 256 + 2 = 3,330 tokens; 448x448 -> one tile, 258 tokens
"""

from __future__ import annotations

import functools

from vlmtrain.encoding.expansion import Expansion, TokenRule, size_get
from vlmtrain.encoding.video import VideoRule


@functools.lru_cache(maxsize=16)
def _grids(min_tiles: int, max_tiles: int) -> tuple[tuple[int, int], ...]:
    grids = [
        (w, h)
        for w in range(1, max_tiles + 1)
        for h in range(1, max_tiles + 1)
        if min_tiles <= w * h <= max_tiles
    ]
    return tuple(sorted(grids, key=lambda g: g[0] * g[1]))  # stable: the processor's order


def best_grid(width: int, height: int, tile_w: int, tile_h: int, min_tiles: int, max_tiles: int):
    """(columns, rows): `get_optimal_tiled_canvas` step for step."""
    aspect, area = width / height, width * height
    best, best_diff = (1, 1), float("inf")
    for grid in _grids(min_tiles, max_tiles):
        diff = abs(aspect - grid[0] / grid[1])
        if diff < best_diff:
            best, best_diff = grid, diff
        elif diff == best_diff and area > 0.5 * tile_h * tile_w * grid[0] * grid[1]:
            best = grid
    return best


@functools.lru_cache(maxsize=16)
def _merged_images_kwargs(processor) -> dict:
    # The processor's own resolution of its call-time defaults; ~0.4 ms, so once per processor.
    return processor._merge_kwargs(tokenizer_init_kwargs=processor.tokenizer.init_kwargs)["images_kwargs"]


def settings(processor) -> dict:
    """crop_to_patches, min_patches, max_patches and the tile size as a processor call resolves them:
    the processor's merged images kwargs (class defaults included) over the image processor's own."""
    ip = processor.image_processor
    merged = _merged_images_kwargs(processor)
    out = {k: merged.get(k, getattr(ip, k)) for k in ("crop_to_patches", "min_patches", "max_patches")}
    size = merged.get("size", ip.size)
    out["tile"] = (size_get(size, "width"), size_get(size, "height"))
    return out


def unsupported(processor) -> str | None:
    size = processor.image_processor.size
    if not (size_get(size, "height") and size_get(size, "width")):
        return "image processor size has no height/width"
    return None


def tiles(s: dict, width: int, height: int) -> int:
    if not (s["crop_to_patches"] and s["max_patches"] > 1):
        return 1
    cols, rows = best_grid(width, height, *s["tile"], s["min_patches"], s["max_patches"])
    return cols * rows + 1 if cols * rows > 1 else 1  # + the thumbnail


def expand_all(processor, sizes: list[tuple[int, int]]) -> list[Expansion]:
    s = settings(processor) if sizes else {}
    seq = processor.image_seq_length
    text = f"{processor.start_image_token}{processor.image_token}{processor.end_image_token}"
    out = []
    for width, height in sizes:
        n = tiles(s, width, height) * seq
        out.append(Expansion(text=text, extra=n - 1, image_tokens=n + 2))
    return out


def expand(processor, width: int, height: int) -> Expansion:
    """One image alone (a record of one image)."""
    return expand_all(processor, [(width, height)])[0]


RULE = TokenRule(unsupported=unsupported, expand=expand, expand_all=expand_all)


# ---- videos (encoding/video.py) ----------------------------------------------------------------------
# `InternVLProcessor.replace_video_token`: each sampled frame is one tile (resized to the video processor's
# height x width, never cropped to patches), written with a 1-based label and the image delimiters, the
# frames joined by newlines; the template's `<video>` is replaced:
#   <video>  ->  "Frame1: <img>" + "<IMG_CONTEXT>" x image_seq_length + "</img>\nFrame2: <img>...</img>"
#   OpenGVLab/InternVL3-1B-hf (448 x 448, 256 tokens a frame): 8 frames -> 8 x (256 + 2) + the labels
def video_resize(vp, num_frames: int, height: int, width: int) -> tuple[int, int]:
    """The video processor's `resize` target for its `size` (the base class's torchvision resize):
    height x width as given (the -hf checkpoints' 448 x 448)."""
    from transformers.image_utils import SizeDict

    size = vp.size if isinstance(vp.size, SizeDict) else SizeDict(**vp.size)
    if not (size.height and size.width) or size.shortest_edge or size.longest_edge:
        raise ValueError(f"video processor size {dict(size)} is not a fixed height x width")
    return size.height, size.width


def video_expand(processor, plan) -> Expansion:
    start, image, end = processor.start_image_token, processor.image_token, processor.end_image_token
    frames = len(plan.indices)
    text = "\n".join(f"Frame{i + 1}: {start}{image}{end}" for i in range(frames))
    extra = frames * (processor.image_seq_length - 1)
    framing = len(processor.tokenizer(text, add_special_tokens=False)["input_ids"])
    return Expansion(text=text, extra=extra, image_tokens=framing + extra)


VIDEO = VideoRule(resize=video_resize, expand=video_expand)
