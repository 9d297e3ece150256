"""LLaVA-OneVision: anyres-max tiling with one image_newline per row, and a different rule for a record
with several images, mirroring `LlavaOnevisionProcessor.replace_image_token`:

  one image in the record   base (num_image_tokens) + the unpadded pinpoint grid's features + one newline
                            per grid row; when the grid holds more than 1.1 x max_num_patches
                            ("anyres_max_9": 9) tiles' worth of features, rows and columns are scaled down
                            by that ratio (`int(h // ratio) * int(w // ratio)`, newlines `int(h // ratio)`)
  several images            each is padded to a square and not tiled: num_image_tokens + 1 newline
  strategy "default"        one less per image (the CLS feature is dropped)
    llava-onevision-qwen2-*-ov-hf (384 px, 729 tokens, 36 pinpoints, "full"): 640x480 alone -> 2,929;
    two images -> 730 each
"""

from __future__ import annotations

import math

from vlmtrain.encoding.expansion import Expansion, TokenRule, image_token_run
from vlmtrain.encoding.video import VideoRule
from vlmtrain.families.llava_next.tokens import (
    anyres_unsupported,
    select_best_resolution,
    tile_size,
    unpadded,
)


def unsupported(processor) -> str | None:
    why = anyres_unsupported(processor.image_processor)
    if why is None and not processor.num_image_tokens:
        why = "processor has no num_image_tokens"
    if why is None and not str(processor.vision_aspect_ratio).startswith("anyres_max_"):
        why = f"vision_aspect_ratio {processor.vision_aspect_ratio!r} is not anyres_max_N"
    return why


def _unpadded(processor, height: int, width: int, patches: int, scale_h: int, scale_w: int):
    cur_h, cur_w = unpadded(height, width, patches * scale_h, patches * scale_w)
    features, newlines = cur_h * cur_w, cur_h
    max_num_patches = int(processor.vision_aspect_ratio.removeprefix("anyres_max_"))  # digits: as strip()
    ratio = math.sqrt(cur_h * cur_w / (max_num_patches * patches**2))
    if ratio > 1.1:
        features = int(cur_h // ratio) * int(cur_w // ratio)
        newlines = int(cur_h // ratio)
    return features, newlines


def count(processor, width: int, height: int, images_in_record: int = 1) -> int:
    base = processor.num_image_tokens
    if images_in_record != 1:
        n = base + 1
    else:
        ip = processor.image_processor
        tile_h, tile_w = tile_size(ip)
        best_h, best_w = select_best_resolution(height, width, ip.image_grid_pinpoints)
        patches = int(math.sqrt(base))
        features, newlines = _unpadded(processor, height, width, patches, best_h // tile_h, best_w // tile_w)
        n = features + newlines + base
    if processor.vision_feature_select_strategy == "default":
        n -= 1
    return n


def expand_all(processor, sizes: list[tuple[int, int]]) -> list[Expansion]:
    return [image_token_run(processor, count(processor, w, h, len(sizes))) for w, h in sizes]


def expand(processor, width: int, height: int) -> Expansion:
    """One image alone (a record of one image)."""
    return expand_all(processor, [(width, height)])[0]


RULE = TokenRule(unsupported=unsupported, expand=expand, expand_all=expand_all)


# ---- videos (encoding/video.py) ----------------------------------------------------------------------
# `LlavaOnevisionProcessor.replace_video_token`: each sampled frame's sqrt(num_image_tokens) x same grid is
# pooled (bilinear, the model's `apply_pooling`) to ceil(side / 2) squared, plus one image_newline for the
# whole video, all written as `<video>`:  frames * ceil(sqrt(num_image_tokens) / 2)^2 + 1
#   llava-onevision-qwen2-*-ov-hf (729 tokens: 27 x 27 -> 14 x 14): 8 frames -> 8 * 196 + 1 = 1,569
def video_resize(vp, num_frames: int, height: int, width: int) -> tuple[int, int]:
    """The video processor's `resize` target for its `size` (the base class's torchvision resize):
    height x width as given (the checkpoints' 384 x 384)."""
    from transformers.image_utils import SizeDict

    size = vp.size if isinstance(vp.size, SizeDict) else SizeDict(**vp.size)
    if not (size.height and size.width) or size.shortest_edge or size.longest_edge:
        raise ValueError(f"video processor size {dict(size)} is not a fixed height x width")
    return size.height, size.width


def video_expand(processor, plan) -> Expansion:
    side = math.ceil(int(math.sqrt(processor.num_image_tokens)) / 2)
    n = len(plan.indices) * side * side + 1
    return Expansion(text=processor.video_token, extra=n - 1, image_tokens=n)


VIDEO = VideoRule(resize=video_resize, expand=video_expand)
