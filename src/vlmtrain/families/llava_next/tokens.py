"""LLaVA-NeXT and Granite Vision (anyres): the count depends on the original size and the grid pinpoints.

Mirrors `LlavaNextProcessor._get_number_of_features`: a base tile of (S/patch)^2 features, plus the
best-fitting pinpoint grid of tiles with the padding rows/columns removed, plus one newline per row.
    Granite Vision (384 px, patch 14, strategy "full"): 384x384 -> 1,485; 640x480 -> 2,929
"""

from __future__ import annotations

from vlmtrain.encoding.expansion import Expansion, TokenRule, image_token_run, processor_attr, size_get
from vlmtrain.families.llava.tokens import selected_features


def tile_size(image_processor) -> tuple[int, int]:
    # The tiles' final pixel size: the center crop if there is one, else the resize target.
    crop = getattr(image_processor, "crop_size", None)
    if getattr(image_processor, "do_center_crop", False) and size_get(crop, "height"):
        return size_get(crop, "height"), size_get(crop, "width")
    size = image_processor.size
    if size_get(size, "height"):
        return size_get(size, "height"), size_get(size, "width")
    edge = size_get(size, "shortest_edge")
    return edge, edge


def anyres_unsupported(image_processor) -> str | None:
    """Why an anyres image processor's tiling cannot be modelled (shared with LLaVA-OneVision)."""
    if not getattr(image_processor, "image_grid_pinpoints", None):
        return "image processor has no image_grid_pinpoints"
    if not getattr(image_processor, "do_resize", True):
        return "do_resize is off"
    return None


def unsupported(processor) -> str | None:
    why = anyres_unsupported(processor.image_processor)
    if why is None and processor_attr(processor, "patch_size") is None:
        why = "processor has no patch_size"
    return why


def select_best_resolution(height: int, width: int, pinpoints) -> tuple[int, int]:
    """transformers' `select_best_resolution`: the pinpoint keeping the most pixels, then wasting the fewest."""
    best, best_effective, best_wasted = None, 0, float("inf")
    for ph, pw in pinpoints:
        scale = min(pw / width, ph / height)
        effective = min(int(width * scale) * int(height * scale), width * height)
        wasted = pw * ph - effective
        if effective > best_effective or (effective == best_effective and wasted < best_wasted):
            best, best_effective, best_wasted = (ph, pw), effective, wasted
    return best


def unpadded(height: int, width: int, cur_h: int, cur_w: int) -> tuple[int, int]:
    """The grid's feature rows and columns once the padding the resize added is cut off again
    (`_get_unpadded_features`): the image's aspect ratio decides which side was padded."""
    if width / height > cur_w / cur_h:
        new_h = int(round(height * (cur_w / width), 7))
        cur_h -= ((cur_h - new_h) // 2) * 2
    else:
        new_w = int(round(width * (cur_h / height), 7))
        cur_w -= ((cur_w - new_w) // 2) * 2
    return cur_h, cur_w


def count(processor, width: int, height: int) -> int:
    ip = processor.image_processor
    patch = processor_attr(processor, "patch_size")
    tile_h, tile_w = tile_size(ip)
    best_h, best_w = select_best_resolution(height, width, ip.image_grid_pinpoints)
    scale_h, scale_w = best_h // tile_h, best_w // tile_w
    patches_h, patches_w = tile_h // patch, tile_w // patch

    cur_h, cur_w = unpadded(height, width, patches_h * scale_h, patches_w * scale_w)
    return selected_features(processor, cur_h * cur_w + cur_h + patches_h * patches_w)


def expand(processor, width: int, height: int) -> Expansion:
    return image_token_run(processor, count(processor, width, height))


RULE = TokenRule(unsupported=unsupported, expand=expand)
