"""SmolVLM: Idefics3's layout, inputs and header rule (see idefics3/); its processor also takes a video
processor: videos (tokens.py `VIDEO`) are sampled by SmolVLM2's own `sample_frames` and written as
timestamped frames, each a global image. Its processor writes a record's video frames and its images
to the same `pixel_values` (the videos' replace the images'), so a record holding both is refused
(`SmolVLMFamily`). Its tiny model: tiny.py."""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import Family
from vlmtrain.families.idefics3 import FAMILY as IDEFICS3
from vlmtrain.families.real_template import RealTemplate
from vlmtrain.families.smolvlm import tiny, tokens


@dataclass
class SmolVLMFamily(Family):
    """Refuses a record with both images and videos (see the module docstring): the collator, `vlmtrain
    check` (through `plan_videos`) and `predict` alike."""

    def plan_videos(self, processor, record, base_dir=None):
        self._images_with_videos(record)
        return super().plan_videos(processor, record, base_dir)

    def load_videos(self, processor, record, base_dir=None):
        self._images_with_videos(record)
        return super().load_videos(processor, record, base_dir)

    def _images_with_videos(self, record: dict) -> None:
        if record.get("images") and record.get("videos"):
            raise VlmTrainError(
                f"record {record.get('id')!r}: holds images and videos; the {self.name} processor writes a "
                "record's video frames and images to the same pixel_values (the images are lost), so a "
                "record takes images or videos, not both"
            )


FAMILY = IDEFICS3.derive(
    SmolVLMFamily,
    name="smolvlm",
    model_types=("smolvlm",),
    fsdp_wrap_classes=("LlamaDecoderLayer", "SmolVLMEncoderLayer"),
    model_class="SmolVLMForConditionalGeneration",
    processor_class="SmolVLMProcessor",
    # SmolVLM-256M-Instruct's own file is not held; SmolVLM-Instruct and SmolVLM2 publish this one
    template=RealTemplate(
        "HuggingFaceTB/SmolVLM2-256M-Video-Instruct", "Liger-Kernel; transformers' processor test"
    ),
    tiny=tiny.TINY,
    video=tokens.VIDEO,
)
