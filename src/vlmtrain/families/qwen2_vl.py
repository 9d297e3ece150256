"""Qwen2-VL: `<|vision_start|><|image_pad|>*N<|vision_end|>`, N = prod(image_grid_thw) / merge_size^2.

pixel_values come flattened over all images (rows = patches) with `image_grid_thw` (images, 3), so the
default collate (concatenate along dim 0) is right. M-RoPE position ids are computed by the model from
input_ids, so right padding is fine. Packed rows take 4-row position ids (text row + the model's own
temporal/height/width rows per sample), the input transformers' Qwen2-VL text model reads as packed.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import Family

_ROPE_OWNERS: dict[tuple[str, int], tuple[object, object]] = {}


@dataclass
class MRopeFamily(Family):
    """A family whose language model takes M-RoPE positions computed by `<rope_index_class>.get_rope_index`."""

    rope_index_class: str = ""

    def packed_position_ids(self, feat: dict, model_config=None):
        """{"input_ids": [1, T], "mm_token_type_ids": [1, T], "image_grid_thw": [n, 3]} -> LongTensor[4, T]:
        row 0 = 0..T-1 (what transformers finds sample boundaries from), rows 1-3 = get_rope_index's
        temporal/height/width ids for this sample alone (so they start at 0 as in an unpacked batch)."""
        import torch

        if model_config is None:
            raise VlmTrainError(f"{self.name}: packed M-RoPE position ids need the model's config")
        rows, _ = self._rope_owner(model_config).get_rope_index(
            feat["input_ids"],
            mm_token_type_ids=feat["mm_token_type_ids"],
            image_grid_thw=feat.get("image_grid_thw"),
            video_grid_thw=feat.get("video_grid_thw"),
            second_per_grid_ts=feat.get("second_per_grid_ts"),
        )
        text = torch.arange(feat["input_ids"].shape[1]).view(1, -1)
        return torch.cat([text, rows[:, 0].to(text.dtype)])

    def _rope_owner(self, model_config):
        """The model class that owns get_rope_index, built once per config on the meta device: its rope
        index reads only the config, so no weights are allocated or loaded."""
        key = (self.rope_index_class, id(model_config))
        if key not in _ROPE_OWNERS:
            import torch
            import transformers

            with torch.device("meta"):
                owner = getattr(transformers, self.rope_index_class)(model_config)
            _ROPE_OWNERS[key] = (owner, model_config)  # holding the config keeps its id unique
        return _ROPE_OWNERS[key][0]


FAMILY = MRopeFamily(
    name="qwen2_vl",
    model_types=("qwen2_vl",),
    image_token="<|image_pad|>",
    image_related_tokens=("<|vision_start|>", "<|vision_end|>", "<|video_pad|>"),
    vision_tower="model.visual",
    projector="model.visual.merger",
    language_model="model.language_model",
    lm_layers="model.language_model.layers",
    fsdp_wrap_classes=("Qwen2VLDecoderLayer", "Qwen2VLVisionBlock"),
    model_class="Qwen2VLForConditionalGeneration",
    processor_class="Qwen2VLProcessor",
    packing="mrope",
    rope_index_class="Qwen2VLModel",
)
