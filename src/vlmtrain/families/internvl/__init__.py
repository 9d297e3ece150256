"""InternVL 3 / 3.5, transformers-native (OpenGVLab/InternVL3-*-hf, InternVL3_5-*-HF): each image becomes
`<img>` + `<IMG_CONTEXT>` x 256 per tile + `</img>`, tiles from crop_to_patches (tokens.py).

pixel_values are every tile of every image stacked (tiles, 3, H, W), the model matching them to the
`<IMG_CONTEXT>` runs in order, so the default collate (concatenate along dim 0) is right. The Qwen2/
Qwen3 decoder is `model.language_model`; the projector (pixel shuffle + MLP) `model.multi_modal_projector`.
Videos (tokens.py `VIDEO`): frames sampled by InternVLVideoProcessor's own `sample_frames` (evenly, from
the middle of each span; 2 fps where the checkpoint samples none, as its config says), each resized to
the tile and written as `FrameN: <img>...</img>`; the processor puts them into `pixel_values` in the
order of the record's images and videos, so batches concatenate as for images. The processor stacks a
record's videos into one [videos, frames, ...] tensor first, so a record whose videos sample different
frame counts is refused (`InternVLFamily`, `vlmtrain check` too); so is a video under a run's video_min_frames or
video_max_frames, which its sampler does not take. Tiny model: tiny.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import Family
from vlmtrain.families.internvl import tiny, tokens
from vlmtrain.families.real_template import RealTemplate


@dataclass
class InternVLFamily(Family):
    """Refuses a record whose videos sample different frame counts (see the module docstring): the
    collator, `vlmtrain check` (through `plan_videos`) and `predict` alike."""

    def plan_videos(self, processor, record, base_dir=None):
        self._frame_caps(processor, record)
        plans = super().plan_videos(processor, record, base_dir)
        self._same_frames(record, [len(p.indices) for p in plans])
        return plans

    def load_videos(self, processor, record, base_dir=None):
        self._frame_caps(processor, record)
        videos = super().load_videos(processor, record, base_dir)
        self._same_frames(record, [len(plan.indices) for _frames, plan in videos])
        return videos

    def _frame_caps(self, processor, record: dict) -> None:
        """InternVLVideoProcessor's sampler takes fps or num_frames only: a run's frame bounds would be
        ignored, so a record with videos is refused instead of sampled otherwise than the run asked."""
        vp = getattr(processor, "video_processor", None)
        caps = [k for k in ("min_frames", "max_frames") if getattr(vp, k, None) is not None]
        if record.get("videos") and caps:
            raise VlmTrainError(
                f"record {record.get('id')!r}: video_{caps[0]} is set, but the {self.name} video processor "
                "samples by fps alone (no frame bounds): unset it and choose video_fps instead"
            )

    def _same_frames(self, record: dict, counts: list[int]) -> None:
        if len(set(counts)) > 1:
            raise VlmTrainError(
                f"record {record.get('id')!r}: its videos sample {counts} frames; the {self.name} processor "
                "stacks a record's videos into one tensor, so they must keep the same number of frames"
            )


FAMILY = InternVLFamily(
    name="internvl",
    model_types=("internvl",),
    image_token="<IMG_CONTEXT>",
    image_related_tokens=("<img>", "</img>", "<video>"),
    fsdp_wrap_classes=(
        "Qwen2DecoderLayer",
        "Qwen3DecoderLayer",
        "Qwen3MoeDecoderLayer",
        "InternVLVisionLayer",
    ),
    model_class="InternVLForConditionalGeneration",
    processor_class="InternVLProcessor",
    template=RealTemplate("OpenGVLab/InternVL3-1B-hf", "transformers' conversion script; Liger-Kernel"),
    tiny=tiny.TINY,
    rule=tokens.RULE,
    video=tokens.VIDEO,
)
