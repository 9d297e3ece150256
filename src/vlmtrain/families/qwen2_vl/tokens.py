"""Qwen2-VL and Qwen2.5-VL: `<|image_pad|>` x (grid_h * grid_w / merge^2), grid from `smart_resize`.

    patch 14, merge 2, min 56*56, max 28*28*1280:  640x480 -> resized 644x476 -> grid 34x46 -> 391 tokens

smart_resize rounds each side to a multiple of patch*merge, then rescales into [min_pixels, max_pixels]
keeping the aspect ratio; it raises for aspect ratios over 200 (so does the processor).
"""

from __future__ import annotations

import math

from vlmtrain.encoding.expansion import Expansion, TokenRule, image_token_run, size_get


def unsupported(processor) -> str | None:
    ip = processor.image_processor
    if not getattr(ip, "do_resize", True):
        return "do_resize is off"
    if size_get(ip.size, "shortest_edge") is None or size_get(ip.size, "longest_edge") is None:
        return "image processor size has no shortest_edge/longest_edge (min/max pixels)"
    return None


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """transformers' Qwen2-VL `smart_resize`, same float operations in the same order."""
    if max(height, width) / min(height, width) > 200:
        raise ValueError(
            f"absolute aspect ratio must be smaller than 200, got {max(height, width) / min(height, width)}"
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def count(processor, width: int, height: int) -> int:
    ip = processor.image_processor
    patch, merge = ip.patch_size, ip.merge_size
    h, w = smart_resize(
        height,
        width,
        factor=patch * merge,
        min_pixels=size_get(ip.size, "shortest_edge"),
        max_pixels=size_get(ip.size, "longest_edge"),
    )
    return (h // patch) * (w // patch) // (merge * merge)


def expand(processor, width: int, height: int) -> Expansion:
    return image_token_run(processor, count(processor, width, height))


RULE = TokenRule(unsupported=unsupported, expand=expand)
