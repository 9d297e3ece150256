"""GLM-4.1V / GLM-4.5V: `<|image|>` x (grid_h * grid_w / merge^2), grid from GLM's own `smart_resize`.

    patch 14, merge 2, size 12544 .. 9633792 pixels (the checkpoints): 640x480 -> 644x476 -> 391 tokens

GLM's resize differs from Qwen2-VL's: an image under 28 px a side is first scaled up (int() of the
float product) so its short side reaches 28, the aspect-ratio limit (200) is checked after that, and
the pixel budget is compared with temporal_patch_size * h * w (a still image is two frames). When the
rule applies (do_resize on, a min/max pixel size) is Qwen2-VL's `unsupported`, which the family inherits.
"""

from __future__ import annotations

import math

from vlmtrain.encoding.expansion import Expansion, image_token_run, size_get


def smart_resize(
    num_frames: int,
    height: int,
    width: int,
    temporal_factor: int,
    factor: int,
    min_pixels: int,
    max_pixels: int,
) -> tuple[int, int]:
    """transformers' GLM-4V `smart_resize` (image_processing_glm4v.py), same operations in the same order."""
    if height < factor or width < factor:
        scale = max(factor / height, factor / width)
        height = int(height * scale)
        width = int(width * scale)
    if max(height, width) / min(height, width) > 200:
        raise ValueError(
            f"absolute aspect ratio must be smaller than 200, got {max(height, width) / min(height, width)}"
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    t_bar = round(num_frames / temporal_factor) * temporal_factor
    if t_bar * h_bar * w_bar > max_pixels:
        beta = math.sqrt((num_frames * height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif t_bar * h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (num_frames * height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def count(processor, width: int, height: int) -> int:
    ip = processor.image_processor
    patch, merge, temporal = ip.patch_size, ip.merge_size, ip.temporal_patch_size
    h, w = smart_resize(
        temporal,  # the image processor resizes a still image as `temporal_patch_size` frames
        height,
        width,
        temporal_factor=temporal,
        factor=patch * merge,
        min_pixels=size_get(ip.size, "shortest_edge"),
        max_pixels=size_get(ip.size, "longest_edge"),
    )
    return (h // patch) * (w // patch) // (merge * merge)


def expand(processor, width: int, height: int) -> Expansion:
    return image_token_run(processor, count(processor, width, height))
