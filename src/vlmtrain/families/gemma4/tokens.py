"""Gemma4: each `<|image|>` becomes `<|image>` + `<|image|>` x n + `<image|>`, n from an aspect-preserving
resize into the soft-token budget:

    patch 16, pooling 3, max_soft_tokens 280 (the released checkpoints):
      640x480 -> 912x672 px -> 57 x 42 patches -> 2394 / 9 = 266 soft tokens (+2 delimiters)

The side is a multiple of pooling * patch (48 px) and patches <= max_soft_tokens * pooling^2; an image
thinner than one 48 px band keeps one band and the whole ratio (capped), as the image processor does. The
"\\n\\n" around the image is the chat template's, i.e. ordinary text.
"""

from __future__ import annotations

import math

from vlmtrain.encoding.expansion import Expansion, TokenRule
from vlmtrain.encoding.video import VideoRule


def unsupported(processor) -> str | None:
    if not getattr(processor.image_processor, "do_resize", True):
        return "do_resize is off (the patch grid then depends on the image processor's padding)"
    return None


def target_size(height: int, width: int, patch: int, max_patches: int, pooling: int) -> tuple[int, int]:
    """transformers' Gemma4 `get_aspect_ratio_preserving_size`, same float operations in the same order."""
    target_px = max_patches * patch**2
    factor = math.sqrt(target_px / (height * width))
    side = pooling * patch
    th = int(math.floor(factor * height / side)) * side
    tw = int(math.floor(factor * width / side)) * side
    if th == 0 and tw == 0:
        raise ValueError(f"image {width}x{height} resizes to 0 x 0 (sides must be multiples of {side})")
    longest = (max_patches // pooling**2) * side
    if th == 0:
        th, tw = side, min(int(math.floor(width / height)) * side, longest)
    elif tw == 0:
        tw, th = side, min(int(math.floor(height / width)) * side, longest)
    if th * tw > target_px:
        raise ValueError(
            f"image {width}x{height} resizes to {tw}x{th}, over {max_patches} patches of {patch} px"
        )
    return th, tw


def count(processor, width: int, height: int) -> int:
    ip = processor.image_processor
    patch, pooling = ip.patch_size, ip.pooling_kernel_size
    th, tw = target_size(height, width, patch, ip.max_soft_tokens * pooling**2, pooling)
    return (th // patch) * (tw // patch) // pooling**2


def expand(processor, width: int, height: int) -> Expansion:
    n = count(processor, width, height)
    text = processor.boi_token + processor.image_token + processor.eoi_token
    return Expansion(text=text, extra=n - 1, image_tokens=n + 2)


RULE = TokenRule(unsupported=unsupported, expand=expand)


# ---- videos (encoding/video.py) ----------------------------------------------------------------------
# `Gemma4Processor.replace_video_token`: every sampled frame is resized like an image into the video
# processor's own budget (`max_soft_tokens`, 70 a frame on the released checkpoints), and written after its
# timestamp (the frame's index / the video's fps, as MM:SS), the frames joined by spaces; the template's
# `<|video|>` is replaced:
#   <|video|>  ->  "00:00 <|image>" + "<|video|>" x n + "<image|> 00:01 <|image>" + ... + "<image|>"
#   google/gemma-4-E2B-it (patch 16, pooling 3, 70 soft tokens, 32 frames): 640x480 -> 432x336 px ->
#   27 x 21 patches / 9 = 63 soft tokens a frame; 32 frames -> 32 x (63 + 2) + the timestamps
def video_resize(vp, num_frames: int, height: int, width: int) -> tuple[int, int]:
    """The video processor's `aspect_ratio_preserving_resize` target (the image rule's `target_size` with
    the video processor's patch, pooling and soft-token budget). Its sampler (transformers' default: a
    number of frames, or fps) takes no frame bounds and its resize no `size`: a run's video_min_frames,
    video_max_frames or video_max_pixels would be ignored, so a video is refused under them instead."""
    for key, setting in (("min_frames", "video_min_frames"), ("max_frames", "video_max_frames")):
        if getattr(vp, key, None) is not None:
            raise ValueError(
                f"{setting} is set, but the gemma4 video processor samples a number of frames or by fps "
                "alone (no frame bounds): unset it and choose video_fps instead"
            )
    if vp.size:
        raise ValueError(
            "video_max_pixels is set, but the gemma4 video processor sizes frames by its soft-token budget "
            "(max_soft_tokens), not by pixels: unset it"
        )
    pooling = vp.pooling_kernel_size
    return target_size(height, width, vp.patch_size, vp.max_soft_tokens * pooling**2, pooling)


def video_expand(processor, plan) -> Expansion:
    vp = processor.video_processor
    soft = (plan.height // vp.patch_size) * (plan.width // vp.patch_size) // vp.pooling_kernel_size**2
    stamps = [i / plan.fps for i in plan.indices]
    run = processor.boi_token + processor.video_token + processor.eoi_token
    text = " ".join(f"{int(s // 60):02d}:{int(s % 60):02d} {run}" for s in stamps)
    extra = len(stamps) * (soft - 1)
    framing = len(processor.tokenizer(text, add_special_tokens=False)["input_ids"])
    return Expansion(text=text, extra=extra, image_tokens=framing + extra)


VIDEO = VideoRule(resize=video_resize, expand=video_expand)
