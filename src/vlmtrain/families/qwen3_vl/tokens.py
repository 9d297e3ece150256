"""Qwen3-VL's video rule: each temporal patch of the sampled frames is written with its timestamp,

    <|video_pad|>  ->  "<0.5 seconds><|vision_start|>" + "<|video_pad|>" x (grid_h * grid_w / 4) + "<|vision_end|>"
                       ... once per temporal patch (grid_t)

the timestamp being the mean time of the patch's first and last frame (`_calculate_timestamps`, the
processor's own), from the sampled indices and the video's fps. The chat template writes
`<|vision_start|><|video_pad|><|vision_end|>` around it. Up to transformers 5.23 the processor keeps that
outer pair, so every frame sits inside it; from 5.24 it drops it (each frame has its own pair), two tokens
fewer per video: `dropped_around` asks the processor which it does.
Sizes: transformers' Qwen3-VL video `smart_resize`, whose pixel budget `size["longest_edge"]` covers all
frames together (per-frame with `cap_pixels_per_frame`, as qwen-vl-utils does).
"""

from __future__ import annotations

from vlmtrain.encoding.expansion import Expansion, size_get
from vlmtrain.encoding.video import VideoRule


def video_resize(vp, num_frames: int, height: int, width: int) -> tuple[int, int]:
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import smart_resize

    factor = vp.patch_size * vp.merge_size
    shortest, longest = size_get(vp.size, "shortest_edge"), size_get(vp.size, "longest_edge")
    max_pixels = longest
    if vp.cap_pixels_per_frame:
        frame_cap = vp.max_video_tokens * factor * factor
        max_pixels = max(min(frame_cap, longest // num_frames), int(shortest * 1.05)) * num_frames
    return smart_resize(num_frames, height, width, temporal_factor=vp.temporal_patch_size, factor=factor,
                        min_pixels=shortest, max_pixels=max_pixels)  # fmt: skip


def video_expand(processor, plan) -> Expansion:
    t, h, w = plan.grid_thw
    per_frame = h * w // processor.video_processor.merge_size**2
    stamps = processor._calculate_timestamps(
        list(plan.indices), plan.fps, processor.video_processor.temporal_patch_size
    )
    start, end, pad = processor.vision_start_token, processor.vision_end_token, processor.video_token
    text = "".join(f"<{stamps[k]:.1f} seconds>{start}{pad}{end}" for k in range(t))
    framing = len(processor.tokenizer(text, add_special_tokens=False)["input_ids"])
    # The video's tokens: what replaces the template's text, less the outer pair where the processor drops it.
    dropped = len(
        processor.tokenizer("".join(dropped_around(processor)), add_special_tokens=False)["input_ids"]
    )
    return Expansion(
        text=text, extra=t * (per_frame - 1), image_tokens=framing - dropped + t * (per_frame - 1)
    )


def dropped_around(processor) -> tuple[str, str]:
    """("<|vision_start|>", "<|vision_end|>") when the processor drops the template's pair around a video
    with the placeholder, else ("", ""). Asked of the processor's own text replacement (transformers 5.24+
    `get_text_with_replacements`; a processor without it keeps the pair):

        "<|vision_start|><|video_pad|><|vision_end|>" -> "\x00" (dropped) or "<|vision_start|>\x00<|vision_end|>"
    """
    start, end, pad = processor.vision_start_token, processor.vision_end_token, processor.video_token
    replace = getattr(processor, "get_text_with_replacements", None)  # absent before transformers 5.24
    if replace is None:
        return "", ""
    (out,), _ = replace([start + pad + end], videos_replacements=["\x00"])
    return (start, end) if out == "\x00" else ("", "")


VIDEO = VideoRule(resize=video_resize, expand=video_expand, dropped_around=dropped_around)
