"""LLaVA-OneVision (llava-hf/llava-onevision-qwen2-*-ov-hf): `<image>` expanded by anyres-max tiling with
image_newline, or to the base tile + 1 for each image of a multi-image record (tokens.py).

The images of a record go to the processor as one nested list (`images_arg`), so it knows the record is
multi-image (`batch_num_images`, which the model reads too) exactly as the checkpoint was trained. pixel
values are (images, tiles, 3, H, W) with `image_sizes`: the model reads the real tile count from those,
so zero-padding tiles in collate is safe. The checkpoint's template writes the assistant role as
"<|im_start|>assistant \\n" but its generation prompt as "<|im_start|>assistant\\n"; training and
`predict` both use the former (see `render`), so a fine-tuned model is prompted as it was trained.
Videos (tokens.py `VIDEO`): frames sampled as the video processor samples them, resized to the tile,
pooled to ceil(27 / 2)^2 tokens each plus one newline per video. The processor stacks a record's videos
into one tensor and the model reads a batch's videos as one [videos, frames, 3, H, W] tensor, so every
video that goes through one forward must keep the same number of frames: a record whose videos differ is
refused (by `plan_videos` too, so `vlmtrain check` lists it), and so is a batch whose records' videos
differ (`collate`; per_device_train_batch_size 1, or settings that sample equal counts, avoid it).
Tiny model: tiny.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import Family, render_template, to_template_messages
from vlmtrain.families.llava_next import FAMILY as LLAVA_NEXT
from vlmtrain.families.llava_onevision import tiny, tokens

_PROBE = "\x00"  # a text no template alters, marking where an assistant turn's content starts


@dataclass
class LlavaOnevisionFamily(Family):
    """The record's images as one sample of the processor's batch, and the assistant header as the
    template writes it before an answer (see the module docstring)."""

    def images_arg(self, images):
        return [images]  # one record: one sample of the processor's batch

    def render(self, processor, messages, add_generation_prompt):
        if not add_generation_prompt:
            return super().render(processor, messages, False)
        # The assistant header exactly as the template writes it before an assistant turn's content.
        probe = {"role": "assistant", "content": [{"type": "text", "text": _PROBE}]}
        text = render_template(processor, to_template_messages(messages) + [probe], False)
        return text[: text.index(_PROBE)]

    def plan_videos(self, processor, record, base_dir=None):
        plans = super().plan_videos(processor, record, base_dir)
        _same_frames(record, [len(p.indices) for p in plans])
        return plans

    def load_videos(self, processor, record, base_dir=None):
        videos = super().load_videos(processor, record, base_dir)
        _same_frames(record, [len(plan.indices) for _frames, plan in videos])
        return videos

    def collate(self, processor, feats):
        counts = sorted({f["pixel_values_videos"].shape[1] for f in feats if "pixel_values_videos" in f})
        if len(counts) > 1:
            raise VlmTrainError(
                f"a batch holds videos of {counts} sampled frames; the {self.name} model takes a batch's "
                "videos as one [videos, frames, 3, H, W] tensor, so they must keep the same number of "
                "frames: set per_device_train_batch_size 1 (or video settings that sample equal counts)"
            )
        return super().collate(processor, feats)


def _same_frames(record: dict, counts: list[int]) -> None:
    if len(set(counts)) > 1:
        raise VlmTrainError(
            f"record {record.get('id')!r}: its videos sample {counts} frames; the llava_onevision processor "
            "stacks a record's videos into one tensor, so they must keep the same number of frames"
        )


FAMILY = LLAVA_NEXT.derive(
    LlavaOnevisionFamily,
    name="llava_onevision",
    model_types=("llava_onevision",),
    image_related_tokens=("<video>",),
    model_class="LlavaOnevisionForConditionalGeneration",
    processor_class="LlavaOnevisionProcessor",
    tiny=tiny.TINY,
    rule=tokens.RULE,
    video=tokens.VIDEO,
)
