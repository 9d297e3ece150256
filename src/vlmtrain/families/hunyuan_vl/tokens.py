"""HunyuanOCR: `<｜hy_place▁holder▁no▁102｜>` x (rows * (cols + 1) + 2), grid from smart_resize.

    patch 16, merge 2, min 512*512, max 2048*2048:  640x480 -> resized 640x480 -> grid 30x40 patches
      -> 15 rows x 20 cols merged -> 15 * (20 + 1) + 2 = 317 tokens

The vision merger closes every row of merged patches with a learned newline feature and frames the image
with begin/end features, all held by the image token (`cat_extra_token` adds the 2); the template's
start/end tokens `<｜hy_place▁holder▁no▁100/101｜>` stay around the run. The resize is HunYuanVL's
`smart_resize` (transformers' own, as the image processor calls it: Qwen2-VL's rounding to a multiple of
patch*merge, rescaled into [min_pixels, max_pixels]; aspect ratios over 200 raise, as the processor does).

The family's rule (`__init__.py`) takes Qwen2-VL's settings check (`unsupported`: do_resize on, a
min/max pixel budget) with this module's `expand` and `refusal`.
"""

from __future__ import annotations

from vlmtrain.encoding.expansion import Expansion, image_token_run
from vlmtrain.families.qwen2_vl.tokens import resized


def count(processor, width: int, height: int) -> int:
    from transformers.models.hunyuan_vl.image_processing_pil_hunyuan_vl import smart_resize

    ip = processor.image_processor
    patch, merge = ip.patch_size, ip.merge_size
    h, w = resized(ip, width, height, smart_resize)
    rows = h // patch // merge // ip.spatial_patch_size
    cols = w // patch // merge // ip.spatial_patch_size
    return rows * (cols + 1) + (2 if processor.cat_extra_token else 0)


def refusal(processor, width: int, height: int) -> str | None:
    """smart_resize raises on an aspect ratio over 200: said by name before the processor is called."""
    ratio = max(width, height) / min(width, height)
    if ratio <= 200:
        return None
    return f"image is {width}x{height} px; HunyuanOCR's image processor refuses aspect ratios over 200 ({ratio:g})"


def expand(processor, width: int, height: int) -> Expansion:
    return image_token_run(processor, count(processor, width, height))
