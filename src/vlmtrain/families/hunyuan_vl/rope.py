"""xD-RoPE position ids per row: HunyuanOCR's `get_rope_index` run on each row of a batch alone.

transformers' HunYuanVLModel.get_rope_index keeps one image counter for the whole batch, so the
image-index axis of a row's images continues from the rows before it (row 2's only image gets index 1),
while the same sample alone, and at inference, starts at 0. `per_row(model)` replaces the loaded model's
method with one that runs the model's own on each row with that row's images, so a padded batch equals
its rows one by one:

    input_ids [B, T], mm_token_type_ids [B, T] (1 on image tokens), image_grid_thw [n_images, 3] (row order),
    attention_mask [B, T] -> (position_ids [axes, B, T], rope_deltas [B, 1])
"""

from __future__ import annotations


def per_row(model):
    """Give the loaded model (HunYuanVLForConditionalGeneration) per-row rope indices; returns it."""
    inner = model.model
    own = inner.get_rope_index
    if getattr(own, "per_row", False):
        return model

    def get_rope_index(input_ids, mm_token_type_ids, image_grid_thw=None, attention_mask=None, **kwargs):
        import torch

        if image_grid_thw is None or input_ids.shape[0] == 1:
            return own(input_ids, mm_token_type_ids, image_grid_thw, attention_mask, **kwargs)
        positions, deltas, first = [], [], 0
        for row in range(input_ids.shape[0]):
            mask = None if attention_mask is None else attention_mask[row : row + 1]
            n = _image_spans(mm_token_type_ids[row], None if mask is None else mask[0])
            grids = image_grid_thw[first : first + n] if n else None
            first += n
            pos, delta = own(
                input_ids[row : row + 1], mm_token_type_ids[row : row + 1], grids, mask, **kwargs
            )
            positions.append(pos)
            deltas.append(delta)
        return torch.cat(positions, dim=1), torch.cat(deltas)

    get_rope_index.per_row = True
    inner.get_rope_index = get_rope_index
    return model


def _image_spans(types, mask) -> int:
    """Runs of 1 in one row's mm_token_type_ids (its padded positions dropped): its images."""
    if mask is not None:
        types = types[mask.bool()]
    ones = (types == 1).long()
    starts = ones[1:] > ones[:-1]
    return int(ones[:1].sum()) + int(starts.sum())
