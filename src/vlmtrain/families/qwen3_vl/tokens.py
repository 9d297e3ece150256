"""Qwen3-VL's video rule: each temporal patch of the sampled frames is written with its timestamp,

    <|video_pad|>  ->  "<0.5 seconds><|vision_start|>" + "<|video_pad|>" x (grid_h * grid_w / 4) + "<|vision_end|>"
                       ... once per temporal patch (grid_t)

the timestamp being the mean time of the patch's first and last frame (`_calculate_timestamps`, the
processor's own), from the sampled indices and the video's fps. The chat template writes
`<|vision_start|><|video_pad|><|vision_end|>` around it, so every frame sits inside that outer pair.
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
    return Expansion(text=text, extra=t * (per_frame - 1), image_tokens=framing + t * (per_frame - 1))


VIDEO = VideoRule(resize=video_resize, expand=video_expand)
