"""Packed position ids for M-RoPE families (`Family.packing == "mrope"`): 4 rows per sample, the text row
plus the model's own temporal/height/width rows.

    position_ids("Qwen2VLModel", feat, model.config)
      feat {"input_ids": [1, T], "mm_token_type_ids": [1, T], "image_grid_thw": [n, 3]} -> LongTensor[4, T]

Row 0 is 0..T-1: transformers' M-RoPE text models read it as the packed-sequence row (sample boundaries
where it restarts). Rows 1-3 are `get_rope_index`'s ids for this sample alone, so they start at 0 exactly
as in an unpacked batch. `rope_index_class` is the transformers model class that owns `get_rope_index`
(the family's `rope_index_classes`, e.g. Qwen2VLModel, Qwen3VLMoeModel, Glm4vModel).
"""

from __future__ import annotations

import functools

from vlmtrain.errors import VlmTrainError


def position_ids(rope_index_class: str, feat: dict, model_config):
    import torch

    if model_config is None:
        raise VlmTrainError(f"{rope_index_class}: packed M-RoPE position ids need the model's config")
    rows, _ = _owner(rope_index_class, _ByIdentity(model_config)).get_rope_index(
        feat["input_ids"],
        mm_token_type_ids=feat["mm_token_type_ids"],
        image_grid_thw=feat.get("image_grid_thw"),
        video_grid_thw=feat.get("video_grid_thw"),
        second_per_grid_ts=feat.get("second_per_grid_ts"),
    )
    text = torch.arange(feat["input_ids"].shape[1]).view(1, -1)
    return torch.cat([text, rows[:, 0].to(text.dtype)])


class _ByIdentity:
    """A config as a cache key: transformers configs are unhashable (they compare by value); this one is
    the same key only for the same object, and holding it keeps its id from being reused while cached."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other) -> bool:
        return isinstance(other, _ByIdentity) and other.obj is self.obj


@functools.lru_cache(maxsize=8)
def _owner(rope_index_class: str, config: _ByIdentity):
    """The model class that owns get_rope_index, built once per config on the meta device: the rope index
    reads only the config, so no weights are allocated or loaded. A few configs at a time (one run has one)."""
    import torch
    import transformers

    with torch.device("meta"):
        return getattr(transformers, rope_index_class)(config.obj)
