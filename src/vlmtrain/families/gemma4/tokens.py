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
