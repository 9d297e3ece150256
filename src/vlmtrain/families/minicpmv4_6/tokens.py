"""MiniCPM-V 4.6 (MiniCPMV4_6Processor): the template writes `<|image_pad|>` per image; the processor
replaces image k of the sample (k = 0, 1, ... in text order) with

    <image_id>k</image_id>                                  (use_image_id, on in the checkpoint)
    <image> <|image_pad|> x overview </image>               the whole image, resized
    rows of (<slice> <|image_pad|> x slice </slice>) x cols, joined by "\\n"   (when it is sliced)

Sizes, as MiniCPMV4_6ImageProcessor computes them (ported step for step: `find_best_resize`,
`get_refine_size`, `get_sliced_grid`):
  - grid: multiple = min(ceil(W x H / scale^2), max_slice_nums); none when <= 1; else among
    multiple-1, multiple, multiple+1 slices (2..max_slice_nums), the rows x cols whose log aspect ratio is
    closest to the image's, ties to more rows;
  - overview: scaled to about scale^2 pixels at the image's aspect ratio (up or down when unsliced,
    only down when sliced), sides rounded to multiples of patch x 4 (16x mode; 4x mode: patch x 2);
  - slices: the image resized to the grid's refine size, cut into rows x cols equal slices;
  - tokens of a view: (h / patch) x (w / patch) // 16 (4x mode: // 4).

    checkpoint (scale_resolution 448, patch 14, up to 9 slices, 16x), 4000x3000: grid 3 x 3, overview
    504x392 -> 36 x 28 patches -> 63 tokens, slices 504x392 too (refine 1512x1176) -> 63 each:
    <image_id>0</image_id> (3) + 63 + 2 + 9 x (63 + 2) + 2 "\\n" = 655 tokens;
    640x480: grid 1 x 2, overview 63, slices 392x560 -> 70 each: 3 + 65 + 2 x 72 = 212 tokens
"""

from __future__ import annotations

import functools
import math

from vlmtrain.encoding.expansion import Expansion, TokenRule


def _ensure_divide(length: float, divisor: int) -> int:
    return max(round(length / divisor) * divisor, divisor)


def find_best_resize(
    height, width, scale: int, patch: int, mode: str, allow_upscale: bool
) -> tuple[int, int]:
    if (height * width > scale * scale) or allow_upscale:
        aspect = width / height
        height = int(scale / math.sqrt(aspect))
        width = int(height * aspect)
    merge = 2 if mode == "4x" else 4
    return _ensure_divide(height, patch * merge), _ensure_divide(width, patch * merge)


def sliced_grid(height: int, width: int, max_slices: int, scale: int) -> tuple[int, int] | None:
    """(rows, cols), or None for an image that is not sliced."""
    log_ratio = math.log(width / height)
    multiple = min(math.ceil(width * height / (scale * scale)), max_slices)
    if multiple <= 1:
        return None
    best, min_error = (1, 1), float("inf")
    for n in (multiple - 1, multiple, multiple + 1):
        if n == 1 or n > max_slices:
            continue
        for rows in range(1, n + 1):
            if n % rows == 0:
                error = abs(log_ratio - math.log((n // rows) / rows))
                if error < min_error or (error == min_error and rows > best[0]):
                    best, min_error = (rows, n // rows), min(error, min_error)
    return best


def refine_size(height, width, grid, scale: int, patch: int, mode: str) -> tuple[int, int]:
    rows, cols = grid
    h, w = find_best_resize(
        _ensure_divide(height, rows) / rows, _ensure_divide(width, cols) / cols, scale, patch, mode, True
    )
    return h * rows, w * cols


@functools.lru_cache(maxsize=16)
def _merged(processor) -> dict:
    # The processor's own resolution of its call-time kwargs; once per processor.
    return processor._merge_kwargs(tokenizer_init_kwargs=processor.tokenizer.init_kwargs)


def settings(processor) -> dict:
    ip = processor.image_processor
    merged = _merged(processor)
    images = merged["images_kwargs"]
    keys = ("slice_mode", "max_slice_nums", "scale_resolution", "patch_size", "downsample_mode", "do_resize")
    out = {k: images[k] if images.get(k) is not None else getattr(ip, k) for k in keys}
    use_id = images.get("use_image_id", merged.get("use_image_id"))
    out["use_image_id"] = processor.default_use_image_id if use_id is None else use_id
    return out


def unsupported(processor) -> str | None:
    s = settings(processor)
    if not s["do_resize"]:
        return "do_resize is off"
    if s["slice_mode"] != processor.slice_mode:
        return "slice_mode differs between the processor and its image processor"
    return None


def _marks(processor) -> tuple[str, ...]:
    return (
        processor.image_start_token,
        processor.image_end_token,
        processor.slice_start_token,
        processor.slice_end_token,
        processor.image_id_start_token,
        processor.image_id_end_token,
    )


def views(s: dict, width: int, height: int) -> tuple[int, tuple[int, int] | None, int]:
    """(overview tokens, (rows, cols) or None, tokens per slice) of one width x height image."""
    scale, patch, mode = s["scale_resolution"], s["patch_size"], s["downsample_mode"]
    divisor = 4 if mode == "4x" else 16
    grid = sliced_grid(height, width, s["max_slice_nums"], scale) if s["slice_mode"] else None
    h, w = find_best_resize(height, width, scale, patch, mode, grid is None)
    overview = (h // patch) * (w // patch) // divisor
    if grid is None:
        return overview, None, 0
    rh, rw = refine_size(height, width, grid, scale, patch, mode)
    sh, sw = rh // grid[0], rw // grid[1]
    return overview, grid, (sh // patch) * (sw // patch) // divisor


def expand_all(processor, sizes: list[tuple[int, int]]) -> list[Expansion]:
    if not sizes:
        return []
    s = settings(processor)
    pad = processor.image_token
    start, end, s_start, s_end, id_start, id_end = _marks(processor)
    tok = processor.tokenizer
    out = []
    for k, (width, height) in enumerate(sizes):
        overview, grid, per_slice = views(s, width, height)
        text = f"{id_start}{k}{id_end}" if s["use_image_id"] else ""
        text += start + pad + end
        extra = overview - 1
        if grid is not None and processor.slice_mode:
            rows, cols = grid
            text += "\n".join([(s_start + pad + s_end) * cols] * rows)
            extra += rows * cols * (per_slice - 1)
        n = len(tok(text, add_special_tokens=False)["input_ids"]) + extra
        out.append(Expansion(text=text, extra=extra, image_tokens=n))
    return out


def expand(processor, width: int, height: int) -> Expansion:
    """One image alone (the first of its sample)."""
    return expand_all(processor, [(width, height)])[0]


RULE = TokenRule(unsupported=unsupported, expand=expand, expand_all=expand_all)
