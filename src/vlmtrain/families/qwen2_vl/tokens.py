"""Qwen2-VL and Qwen2.5-VL: `<|image_pad|>` x (grid_h * grid_w / merge^2), grid from `smart_resize`.

    patch 14, merge 2, min 56*56, max 28*28*1280:  640x480 -> resized 644x476 -> grid 34x46 -> 391 tokens

smart_resize rounds each side to a multiple of patch*merge, then rescales into [min_pixels, max_pixels]
keeping the aspect ratio; it raises for aspect ratios over 200 (so does the processor).
"""

from __future__ import annotations

import math

from vlmtrain.encoding.expansion import Expansion, TokenRule, image_token_run, size_get
from vlmtrain.encoding.video import VideoRule


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


def resized(ip, width: int, height: int, resize=smart_resize) -> tuple[int, int]:
    """(height, width) in pixels after `resize(height, width, factor=, min_pixels=, max_pixels=)` with the image
    processor's factor patch*merge and its pixel budget: 640x480, patch 14, merge 2 -> (476, 644). Families
    whose processor rounds with its own smart_resize of this signature pass it as `resize`."""
    return resize(
        height,
        width,
        factor=ip.patch_size * ip.merge_size,
        min_pixels=size_get(ip.size, "shortest_edge"),
        max_pixels=size_get(ip.size, "longest_edge"),
    )


def count(processor, width: int, height: int, resize=smart_resize) -> int:
    """Merged patches of the resized image: 640x480 -> 476x644 -> 34x46 patches -> 391 tokens."""
    ip = processor.image_processor
    h, w = resized(ip, width, height, resize)
    return (h // ip.patch_size) * (w // ip.patch_size) // (ip.merge_size * ip.merge_size)


def expand(processor, width: int, height: int, resize=smart_resize) -> Expansion:
    return image_token_run(processor, count(processor, width, height, resize))


RULE = TokenRule(unsupported=unsupported, expand=expand)


# ---- videos (encoding/video.py): `<|video_pad|>` x (grid_t * grid_h * grid_w / merge^2) per video ----------
def video_resize(vp, num_frames: int, height: int, width: int) -> tuple[int, int]:
    """Qwen2VLVideoProcessor.resize's target for `num_frames` sampled frames of height x width: the per-frame
    budget `size["longest_edge"]`, or with `cap_pixels_per_frame` an even share of `max_video_tokens`."""
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import smart_resize as video_smart_resize

    factor = vp.patch_size * vp.merge_size
    shortest, longest = size_get(vp.size, "shortest_edge"), size_get(vp.size, "longest_edge")
    max_pixels = longest
    if vp.cap_pixels_per_frame:
        total_pixels = int(vp.max_video_tokens * factor * factor * 0.9)
        max_pixels = max(
            min(max_pixels, total_pixels * vp.temporal_patch_size // num_frames), int(shortest * 1.05)
        )
    return video_smart_resize(height, width, factor=factor, min_pixels=shortest, max_pixels=max_pixels)


def video_expand(processor, plan) -> Expansion:
    t, h, w = plan.grid_thw
    n = t * h * w // processor.video_processor.merge_size**2
    return Expansion(text=processor.video_token, extra=n - 1, image_tokens=n)


VIDEO = VideoRule(resize=video_resize, expand=video_expand)
