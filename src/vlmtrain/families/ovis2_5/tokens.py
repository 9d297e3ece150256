"""Ovis2.5: `<ovis_image_start>` + `<|image_pad|>` x (grid_h * grid_w / merge^2) + `<ovis_image_end>`, the
template writing `<|image_pad|>` and Ovis2_5Processor writing the start/end tokens around its run.

    patch 16, merge 2, min 448*448, max 1344*1792:  640x480 -> resized 640x480 -> grid 30x40 -> 300 + 2

The resize is Ovis2.5's `smart_resize` (transformers' own, as the image processor calls it): Qwen2-VL's
rounding to a multiple of patch*merge and rescale into [min_pixels, max_pixels], except that a side under
one block is first stretched to it (aspect kept) and an aspect ratio over 200 is clamped, not refused. A
thin strip can still shrink to a zero side (1x4000 at the checkpoints' budget): the image processor then
raises, so the rule refuses it by name (`refusal`).

The family's rule (`__init__.py`) takes Qwen2-VL's settings check (`unsupported`: do_resize on, a
min/max pixel budget) with this module's `expand` and `refusal`.
"""

from __future__ import annotations

from vlmtrain.encoding.expansion import Expansion, size_get


def resized(processor, width: int, height: int) -> tuple[int, int]:
    """(height, width) the image processor resizes a width x height image to."""
    from transformers.models.ovis2_5.image_processing_pil_ovis2_5 import smart_resize

    ip = processor.image_processor
    return smart_resize(
        height,
        width,
        factor=ip.patch_size * ip.merge_size,
        min_pixels=size_get(ip.size, "shortest_edge"),
        max_pixels=size_get(ip.size, "longest_edge"),
    )


def refusal(processor, width: int, height: int) -> str | None:
    h, w = resized(processor, width, height)
    if min(h, w) > 0:
        return None
    return (
        f"image is {width}x{height} px; Ovis2.5's smart_resize stretches its short side to one patch block, "
        f"then shrinks it into the pixel budget to {w}x{h} px, which its image processor cannot resize to"
    )


def expand(processor, width: int, height: int) -> Expansion:
    why = refusal(processor, width, height)
    if why:
        raise ValueError(why)
    ip = processor.image_processor
    h, w = resized(processor, width, height)
    n = (h // ip.patch_size) * (w // ip.patch_size) // ip.merge_size**2
    text = processor.image_start_token + processor.image_token + processor.image_end_token
    return Expansion(text=text, extra=n - 1, image_tokens=n + 2)
