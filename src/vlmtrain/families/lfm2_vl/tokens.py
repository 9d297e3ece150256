"""LFM2-VL: each `<image>` becomes, with the image special tokens on (the checkpoints' setting),

    one tile:  <|image_start|> <image> x ceil(h/p/f) * ceil(w/p/f) <|image_end|>
    tiled:     <|image_start|> (<|img_row_R_col_C|> <image> x ceil(T/p/f)^2) per tile
               [<|img_thumbnail|> <image> x thumbnail tokens] <|image_end|>

where (h, w) is the image after `smart_resize` (sides multiples of p*f, pixels within the min/max image
token budget), p the encoder patch, f the downsample factor, T the tile size. An image is tiled when its
rounded size exceeds max_image_tokens * (p*f)^2 * max_pixels_tolerance and splitting is on; the grid is
the tile ratio closest to the image's aspect ratio within [min_tiles, max_tiles]. The same arithmetic as
transformers' Lfm2VlImageProcessor, operation for operation (it exists only with torchvision).

    LFM2-VL-1.6B (p 16, f 2, 64..256 tokens, tiles 2..10 of 512, thumbnail, tolerance 1.5):
      640x480 -> 1 tile, resized 576x416 -> 18 x 13 = 234 image tokens + 2 delimiters
"""

from __future__ import annotations

import math

from vlmtrain.encoding.expansion import Expansion, TokenRule


def unsupported(processor) -> str | None:
    return None  # the image processor always resizes (its do_resize is forced on)


def _round_by_factor(number: float, factor: int) -> int:
    return round(number / factor) * factor


def smart_resize(
    height: int, width: int, f: int, min_tokens: int, max_tokens: int, p: int
) -> tuple[int, int]:
    """-> (new_height, new_width), as Lfm2VlImageProcessor.smart_resize (which returns width first)."""
    total = p * f
    min_pixels = min_tokens * p**2 * f**2
    max_pixels = max_tokens * p**2 * f**2
    h_bar = max(total, _round_by_factor(height, total))
    w_bar = max(total, _round_by_factor(width, total))
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(total, math.floor(height / beta / total) * total)
        w_bar = max(total, math.floor(width / beta / total) * total)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / total) * total
        w_bar = math.ceil(width * beta / total) * total
    return h_bar, w_bar


def _too_large(height: int, width: int, max_tokens: int, p: int, f: int, tolerance: float) -> bool:
    total = p * f
    h_bar = max(p, _round_by_factor(height, total))
    w_bar = max(p, _round_by_factor(width, total))
    return h_bar * w_bar > max_tokens * p**2 * f**2 * tolerance


def _target_ratios(min_tiles: int, max_tiles: int) -> list[tuple[int, int]]:
    # built and sorted exactly as the image processor does: ties in tile count keep the set's order
    ratios = [
        (w, h)
        for n in range(min_tiles, max_tiles + 1)
        for w in range(1, n + 1)
        for h in range(1, n + 1)
        if min_tiles <= w * h <= max_tiles
    ]
    return sorted(set(ratios), key=lambda x: x[0] * x[1])


def grid(height: int, width: int, min_tiles: int, max_tiles: int, tile: int) -> tuple[int, int]:
    """-> (cols, rows): the tile ratio closest to width/height (ties: the larger grid once the image
    covers half of it), as transformers' find_closest_aspect_ratio."""
    aspect = width / height
    best_diff, best = float("inf"), (1, 1)
    area = width * height
    for ratio in _target_ratios(min_tiles, max_tiles):
        diff = abs(aspect - ratio[0] / ratio[1])
        if diff < best_diff:
            best_diff, best = diff, ratio
        elif diff == best_diff and area > 0.5 * (tile * tile * ratio[0] * ratio[1]):
            best = ratio
    return best


def layout(processor, width: int, height: int) -> tuple[int, int, int, int, bool]:
    """-> (rows, cols, tokens per tile, tokens of the resized image or thumbnail, thumbnail?)."""
    ip = processor.image_processor
    p, f, tile = ip.encoder_patch_size, ip.downsample_factor, ip.tile_size
    min_tiles, max_tiles = (ip.min_tiles, ip.max_tiles) if ip.do_image_splitting else (1, 1)
    splitting = not min_tiles == max_tiles == 1
    new_h, new_w = smart_resize(height, width, f, ip.min_image_tokens, ip.max_image_tokens, p)
    rows = cols = 1
    if splitting and _too_large(height, width, ip.max_image_tokens, p, f, ip.max_pixels_tolerance):
        cols, rows = grid(height, width, min_tiles, max_tiles, tile)
    per_tile = math.ceil((tile // p) / f) ** 2
    whole = math.ceil((new_h // p) / f) * math.ceil((new_w // p) / f)
    return rows, cols, per_tile, whole, ip.use_thumbnail


def expand(processor, width: int, height: int) -> Expansion:
    rows, cols, per_tile, whole, thumbnail = layout(processor, width, height)
    special = processor.use_image_special_tokens
    image = processor.image_token
    parts, runs = [processor.image_start_token] if special else [], []
    if rows > 1 or cols > 1:
        for r in range(rows):
            for c in range(cols):
                parts += [f"<|img_row_{r + 1}_col_{c + 1}|>"] if special else []
                parts.append(image)
                runs.append(per_tile)
        if thumbnail:
            parts += [processor.image_thumbnail_token] if special else []
            parts.append(image)
            runs.append(whole)
    else:
        parts.append(image)
        runs.append(whole)
    parts += [processor.image_end_token] if special else []
    # without the delimiters adjacent tiles' runs touch: they are one run of the image token
    if not special:
        runs = [sum(runs)]
        parts = [image]
    extra = sum(n - 1 for n in runs)
    return Expansion(text="".join(parts), extra=extra, image_tokens=len(parts) + extra)


RULE = TokenRule(unsupported=unsupported, expand=expand)
