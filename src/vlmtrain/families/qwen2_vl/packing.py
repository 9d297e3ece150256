"""Qwen2-VL's packed position ids: 4 rows per sample (text row + the model's own M-RoPE rows).

    position_ids("Qwen2VLModel", feat, model.config)
      feat {"input_ids": [1, T], "mm_token_type_ids": [1, T], "image_grid_thw": [n, 3]} -> LongTensor[4, T]

Row 0 is 0..T-1: transformers' Qwen2-VL text model reads it as the packed-sequence row (sample boundaries
where it restarts). Rows 1-3 are `get_rope_index`'s temporal/height/width ids for this sample alone, so
they start at 0 exactly as in an unpacked batch.
"""

from __future__ import annotations

from vlmtrain.errors import VlmTrainError

_OWNERS: dict[tuple[str, int], tuple[object, object]] = {}


def position_ids(rope_index_class: str, feat: dict, model_config):
    import torch

    if model_config is None:
        raise VlmTrainError(f"{rope_index_class}: packed M-RoPE position ids need the model's config")
    rows, _ = _owner(rope_index_class, model_config).get_rope_index(
        feat["input_ids"],
        mm_token_type_ids=feat["mm_token_type_ids"],
        image_grid_thw=feat.get("image_grid_thw"),
        video_grid_thw=feat.get("video_grid_thw"),
        second_per_grid_ts=feat.get("second_per_grid_ts"),
    )
    text = torch.arange(feat["input_ids"].shape[1]).view(1, -1)
    return torch.cat([text, rows[:, 0].to(text.dtype)])


def _owner(rope_index_class: str, model_config):
    """The model class that owns get_rope_index, built once per config on the meta device: the rope index
    reads only the config, so no weights are allocated or loaded."""
    key = (rope_index_class, id(model_config))
    if key not in _OWNERS:
        import torch
        import transformers

        with torch.device("meta"):
            owner = getattr(transformers, rope_index_class)(model_config)
        _OWNERS[key] = (owner, model_config)  # holding the config keeps its id from being reused
    return _OWNERS[key][0]
