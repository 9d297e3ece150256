"""Layer 2 (packing): packed tensors: encoded samples -> rows (`pack_features`) -> a batch (`batch_rows`);
the collator."""

from __future__ import annotations

from vlmtrain.config import packing_refusal
from vlmtrain.encoding.batch import SEQ_PAD
from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import IGNORE_INDEX, Family


def pack_features(family: Family, feats: list[dict], model_config=None) -> dict:
    """Encoded samples (each with batch dim 1, as `Family.encode_one` returns them) -> one row, batch dim 1:
    sequence keys concatenated along the sequence, the first label of each sample set to -100, per-row keys
    along their image dim, image keys along dim 0 (trailing dims zero-padded), plus "position_ids"
    ([1, T] or [4, T]) restarting at every sample; no attention_mask."""
    import torch

    keys = list(dict.fromkeys(k for f in feats for k in f if k != "attention_mask"))
    row: dict = {}
    for key in keys:
        vals = [f[key] for f in feats if key in f]
        if key in SEQ_PAD:
            if len(vals) != len(feats):  # a sequence key must cover every token of the row
                raise VlmTrainError(f"packing: {len(feats) - len(vals)} sample(s) of a row have no {key!r}")
            if key == "labels":
                vals = [v.clone() for v in vals]
                for v in vals:
                    v[:, 0] = IGNORE_INDEX
            row[key] = torch.cat(vals, dim=1)
        else:
            dim = 1 if key in family.per_row_keys else 0
            row[key] = _cat_padded(vals, dim)
    row["position_ids"] = torch.cat([family.packed_position_ids(f, model_config) for f in feats], dim=1)
    return row


def _cat_padded(vals: list, dim: int):
    """Concatenate along `dim`, zero-padding every later dim to the largest."""
    import torch

    shape = [max(v.shape[d] for v in vals) for d in range(vals[0].dim())]
    out = []
    for v in vals:
        want = [*v.shape[: dim + 1], *shape[dim + 1 :]]
        if list(v.shape) != want:
            padded = torch.zeros(want, dtype=v.dtype)
            padded[tuple(slice(0, n) for n in v.shape)] = v
            v = padded
        out.append(v)
    return torch.cat(out, dim=dim)


def batch_rows(family: Family, processor, rows: list[dict]) -> dict:
    """Rows from `pack_features` -> one batch: the family's own collate pads the sequence keys (pad id,
    labels -100) and lines up image keys; position ids of the padding restart at 0 (a sequence of its own).
    position_ids: [B, W] for 1-row ids, [4, B, W] for M-RoPE."""
    import torch

    positions = [r.pop("position_ids") for r in rows]
    width = max(p.shape[1] for p in positions)
    batch = dict(family.collate(processor, rows))
    batch.pop("attention_mask", None)
    padded = [
        torch.cat([p, torch.arange(width - p.shape[1]).expand(p.shape[0], -1)], dim=1) for p in positions
    ]
    pos = torch.stack(padded, dim=1)  # [R, B, W]
    batch["position_ids"] = pos[0] if pos.shape[0] == 1 else pos
    return batch


def real_tokens(input_ids, position_ids, pad_id):
    """Tokens of a packed batch that are not row padding: a row's padding is its last segment (text
    position 0 onwards) when that segment is all pad ids. input_ids [B, W]; position_ids [B, W] or [4, B, W]."""
    import torch

    text = position_ids[0] if position_ids.dim() == 3 else position_ids
    count = torch.zeros((), dtype=torch.long, device=input_ids.device)
    for ids, pos in zip(input_ids, text, strict=True):
        start = int((pos == 0).nonzero()[-1])
        pad = start > 0 and pad_id is not None and bool((ids[start:] == pad_id).all())
        count += start if pad else ids.numel()
    return count


class PackedCollator:
    """Rows of canonical records -> one packed batch (module docstring). A list of plain records (eval
    batches) is collated unpacked, exactly as `VLMCollator` does."""

    def __init__(
        self,
        processor,
        family: Family,
        max_length: int,
        train_on_prompt: bool = False,
        model_config=None,
        max_pixels: int | None = None,
        flatten: bool = False,
    ):
        from vlmtrain.collator import VLMCollator

        refuse_unpackable(family)
        self.processor = processor
        self.family = family
        self.max_length = max_length
        self.model_config = model_config
        self.max_pixels = max_pixels
        self.flatten = flatten
        self.plain = VLMCollator(processor, family, max_length=max_length, train_on_prompt=train_on_prompt)

    def _encode(self, records: list[dict]) -> list[dict]:
        from vlmtrain.data import decode_record

        feats = []
        for rec in records:
            rec = decode_record(rec, self.max_pixels)  # each image decoded once, as CappedCollator does
            feats.append(self.family.encode_one(self.processor, rec, self.plain.train_on_prompt))
        return feats

    def __call__(self, items: list) -> dict:
        if items and isinstance(items[0], dict):
            from vlmtrain.data import decode_record

            return self.plain([decode_record(r, self.max_pixels) for r in items])
        rows = []
        for records in items:
            feats = self._encode(records)
            total = sum(f["input_ids"].shape[1] for f in feats)
            if total > self.max_length:
                ids = [r.get("id") for r in records]
                raise VlmTrainError(
                    f"packed row of records {ids}: {total} tokens exceed max_length {self.max_length}; "
                    "the row plan and the encodings disagree (were the lengths counted with the same "
                    "processor and max_pixels?)"
                )
            rows.append(feats)
        if self.flatten:
            rows = [[f for feats in rows for f in feats]]
        packed = [pack_features(self.family, feats, self.model_config) for feats in rows]
        return batch_rows(self.family, self.processor, packed)


def refuse_unpackable(family: Family) -> None:
    if family.packing is None:
        raise VlmTrainError(packing_refusal(family))
