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
from vlmtrain.encoding.video import VideoRule


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


# ---- videos (encoding/video.py) ------------------------------------------------------------------------------
# Each temporal patch of the sampled frames becomes an image run followed by its whole second:
#     <|video|>  ->  "<|begin_of_image|>" + "<|image|>" x (grid_h * grid_w / 4) + "<|end_of_image|>" + "3" ...
# the second being int(index / fps) of every other sampled frame (the processor's `replace_video_token`);
# the template writes <|begin_of_video|><|video|><|end_of_video|> around it. Not the family's `video` yet (see
# its __init__): exact against Glm4vVideoProcessor and Glm4vProcessor, refused by the model with images.
def video_resize(vp, num_frames: int, height: int, width: int) -> tuple[int, int]:
    from transformers.models.glm4v.video_processing_glm4v import smart_resize as video_smart_resize

    return video_smart_resize(
        height=height,
        width=width,
        num_frames=num_frames,
        factor=vp.patch_size * vp.merge_size,
        temporal_factor=vp.temporal_patch_size,
        min_pixels=size_get(vp.size, "shortest_edge"),
        max_pixels=size_get(vp.size, "longest_edge"),
    )


def video_expand(processor, plan) -> Expansion:
    t, h, w = plan.grid_thw
    per_frame = h * w // processor.video_processor.merge_size**2
    stamps = [i / plan.fps for i in plan.indices][::2][:t]
    stamps += [stamps[-1] if stamps else 0] * (t - len(stamps))
    image = processor.image_token
    text = "".join(f"<|begin_of_image|>{image}<|end_of_image|>{int(s)}" for s in stamps)
    framing = len(processor.tokenizer(text, add_special_tokens=False)["input_ids"])
    return Expansion(text=text, extra=t * (per_frame - 1), image_tokens=framing + t * (per_frame - 1))


VIDEO = VideoRule(resize=video_resize, expand=video_expand)
