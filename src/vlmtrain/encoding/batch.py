"""Per-record encodings -> one padded batch, for every family.

collate_features([{"input_ids": [1, 7], "labels": [1, 7], "pixel_values": [4, 1176], ...},
                  {"input_ids": [1, 5], "labels": [1, 5]}], pad_id=0, per_row_keys=())
  -> BatchFeature(input_ids [2, 7] right-padded with pad_id, labels [2, 7] padded with -100,
                  pixel_values [4, 1176] (image keys concatenated along dim 0))
"""

from __future__ import annotations

from typing import Any

from vlmtrain.encoding.align import IGNORE_INDEX

# Keys padded along the sequence dimension (dim 1), with their pad value (None = the tokenizer's pad id).
SEQ_PAD = {
    "input_ids": None,
    "attention_mask": 0,
    "labels": IGNORE_INDEX,
    "token_type_ids": 0,
    "mm_token_type_ids": 0,
    # ERNIE-4.5-VL's per-token modality (experts routed by it): 0 = text, as on padding
    "moe_mm_token_type_ids": 0,
}
# Per-row keys of more than two dims whose dim 1 also runs along the sequence (Mllama's
# cross_attention_mask [rows, seq, images, tiles]): zero-padded to the batch's sequence width, which a
# text-only row can set when it is the longest.
SEQ_ALIGNED = ("cross_attention_mask",)


def collate_features(feats: list[dict], pad_id: int | None, per_row_keys: tuple[str, ...] = ()):
    """Sequence keys (SEQ_PAD) right-padded to the longest row; other keys concatenated along dim 0 with
    trailing dims zero-padded; `per_row_keys` (dim 0 is the row, not the image) get zeros for rows
    without them, so the batch stays aligned."""
    import torch
    from transformers import BatchFeature

    keys = list(dict.fromkeys(k for f in feats for k in f))
    seq_width = max(f["input_ids"].shape[1] for f in feats)
    batch: dict[str, Any] = {}
    for key in keys:
        vals = [f.get(key) for f in feats]
        if key in SEQ_PAD:
            pad = pad_id if SEQ_PAD[key] is None else SEQ_PAD[key]
            width = max(v.shape[1] for v in vals)
            batch[key] = torch.cat([_pad_to(v, (1, width), pad) for v in vals])
            continue
        present = [v for v in vals if v is not None]
        shape = tuple(max(v.shape[d] for v in present) for d in range(present[0].dim()))
        if key in SEQ_ALIGNED:
            shape = (shape[0], seq_width, *shape[2:])
        if key in per_row_keys:
            zeros = torch.zeros((1, *shape[1:]), dtype=present[0].dtype)
            vals = [zeros if v is None else v for v in vals]
        else:
            vals = present
        batch[key] = torch.cat([_pad_to(v, (v.shape[0], *shape[1:]), 0) for v in vals])
    return BatchFeature(batch)


def _pad_to(t, shape, value):
    import torch

    if tuple(t.shape) == tuple(shape):
        return t
    out = torch.full(shape, value, dtype=t.dtype)
    out[tuple(slice(0, n) for n in t.shape)] = t
    return out
