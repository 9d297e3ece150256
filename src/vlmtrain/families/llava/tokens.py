"""LLaVA-1.5 and other fixed-grid LLaVA models: every image is resized/cropped to one size.

CLIP 336 px, patch 14, strategy "default": (336/14)^2 + 1 (CLS) - 1 = 576 tokens, whatever the input
"""

from __future__ import annotations

from vlmtrain.encoding.expansion import Expansion, TokenRule, image_token_run, size_get


def _final_size(ip) -> tuple[int, int] | None:
    crop = getattr(ip, "crop_size", None)
    if getattr(ip, "do_center_crop", False) and size_get(crop, "height"):
        return size_get(crop, "height"), size_get(crop, "width")
    size = getattr(ip, "size", None)
    if getattr(ip, "do_resize", True) and size_get(size, "height"):
        return size_get(size, "height"), size_get(size, "width")
    return None  # shortest-edge resize without a crop: the size follows the input's aspect ratio


def unsupported(processor) -> str | None:
    if _final_size(processor.image_processor) is None:
        return "image size after preprocessing depends on the input (no center crop, no fixed resize)"
    if getattr(processor, "patch_size", None) is None:
        return "processor has no patch_size"
    return None


def count(processor, width: int, height: int) -> int:
    h, w = _final_size(processor.image_processor)
    return selected_features(processor, (h // processor.patch_size) * (w // processor.patch_size))


def selected_features(processor, n: int) -> int:
    """`n` patch features -> image tokens: plus the processor's additional (CLS) tokens, less the CLS
    token the "default" feature strategy drops (LLaVA-NeXT counts the same way)."""
    n += getattr(processor, "num_additional_image_tokens", 0) or 0
    if getattr(processor, "vision_feature_select_strategy", None) == "default":
        n -= 1
    return n


def expand(processor, width: int, height: int) -> Expansion:
    return image_token_run(processor, count(processor, width, height))


RULE = TokenRule(unsupported=unsupported, expand=expand)
