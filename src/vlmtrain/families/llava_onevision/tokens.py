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
