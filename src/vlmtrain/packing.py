"""Exact, padding-free sequence packing: several whole samples share one row, and none sees another.

    rows = plan_rows(lengths=[700, 300, 1000, 20], max_length=1024, seed=0)  # -> [[2, 3], [0, 1]]
    sampler = PackedRowSampler(rows, lengths, rows_per_device=2, world_size=1, seed=0)
    collator = PackedCollator(processor, family, max_length=1024, model_config=model.config)
    collator([[rec2, rec3], [rec0, rec1]])
      -> {"input_ids": [2, W], "labels": [2, W], "position_ids": [2, W] (M-RoPE families: [4, 2, W]),
          "pixel_values": ..., <family extras>}                      # no attention_mask, W <= 1024

Rows: the exact pre-flight token counts (image expansion included) are placed best-fit decreasing into
rows of at most `max_length` tokens; a sample is never split, so image tokens are never cut.

Isolation: each sample is encoded by the family's own `encode_one` (labels exactly those of the unpacked
sample) and its position ids restart at 0 (`Family.packed_position_ids`). With no attention mask,
transformers reads restarting position ids as packed sequences (`masking_utils.find_packed_sequence_indices`
for sdpa/eager, cu_seqlens from the position ids for flash-attention) and masks attention between them.
The first label of every sample is -100, so no sample is trained to predict the next one's first token
(the loss shifts labels by one). Image inputs are concatenated in token order; keys whose dim 0 is the row
(`Family.per_row_keys`, e.g. Idefics3's pixel_values) are concatenated along their image dim instead.
A row shorter than the batch's longest is padded with pad tokens whose positions restart too, so the pad
is a sequence of its own. With `flatten=True` (flash-attention) the rows of a batch become one row and
there is no padding at all.

Steps: rows are dealt to global batches of rows_per_device * world_size so every optimizer step carries
about the same number of tokens (largest row first, to the lightest batch), and inside a global batch to
ranks the same way; the DataLoader cuts the stream into per-device batches and accelerate deals those
round-robin to the ranks, as for `vlmtrain.sampling.LengthGroupedSampler`. The row plan is fixed for a seed;
the epoch (`set_epoch`) reshuffles which rows share a step and the step order.
"""

from __future__ import annotations

import bisect
import heapq
import random
from collections.abc import Iterator, Sequence

from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import IGNORE_INDEX, SEQ_PAD, Family


# ---- rows ---------------------------------------------------------------------------------------------
def plan_rows(lengths: Sequence[int], max_length: int, seed: int = 0) -> list[list[int]]:
    """Best-fit decreasing: each sample (longest first; equal lengths in a seeded order) goes into the row
    whose free space it fills most tightly, or opens a new row. Rows list sample indices in placement order.

    plan_rows([5, 3, 2, 4], 6) -> [[0], [3, 2], [1]]; a sample longer than max_length is an error.
    """
    if max_length < 1:
        raise VlmTrainError(f"packing: max_length must be >= 1, found {max_length}")
    over = [i for i, n in enumerate(lengths) if n > max_length]
    if over:
        raise VlmTrainError(
            f"packing: {len(over)} sample(s) longer than max_length {max_length} (first: index {over[0]}, "
            f"{lengths[over[0]]} tokens); drop them first (on_overlength: drop)"
        )
    tie = list(range(len(lengths)))
    random.Random(seed).shuffle(tie)
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], tie[i]))
    rows: list[list[int]] = []
    free_sizes: list[int] = []  # sorted distinct free capacities that some row has
    by_free: dict[int, list[int]] = {}  # free capacity -> rows with exactly that much room (LIFO)
    for i in order:
        n = lengths[i]
        k = bisect.bisect_left(free_sizes, n)
        if k < len(free_sizes):
            free = free_sizes[k]
            row = by_free[free].pop()
            if not by_free[free]:
                del by_free[free]
                free_sizes.pop(k)
        else:
            free, row = max_length, len(rows)
            rows.append([])
        rows[row].append(i)
        left = free - n
        if left > 0:
            if left not in by_free:
                by_free[left] = []
                bisect.insort(free_sizes, left)
            by_free[left].append(row)
    return rows


def step_batches(
    rows: Sequence[Sequence[int]],
    lengths: Sequence[int],
    rows_per_device: int,
    world_size: int = 1,
    seed: int = 0,
) -> list[list[int]]:
    """Row ids in global batches of rows_per_device * world_size, rank-major inside each batch (rank r's
    rows at [r * rows_per_device, (r + 1) * rows_per_device)); only the last batch may be short.

    Token balance: rows go largest first to the global batch with the fewest tokens that has room, then
    inside each batch to the rank with the fewest tokens. The heaviest batch goes first (an OOM shows at
    step 1), the short one last, the rest in a seeded order.
    """
    if rows_per_device < 1 or world_size < 1:
        raise VlmTrainError(f"rows per device ({rows_per_device}) and world_size ({world_size}) must be >= 1")
    rng = random.Random(seed)
    size = rows_per_device * world_size
    tokens = [sum(lengths[i] for i in row) for row in rows]
    tie = list(range(len(rows)))
    rng.shuffle(tie)
    order = sorted(range(len(rows)), key=lambda r: (-tokens[r], tie[r]))
    n_full, rest = divmod(len(order), size)
    # The lightest leftovers make the short tail batch, so every other batch is full.
    tail = order[len(order) - rest :] if rest else []
    batches = _balance(order[: n_full * size], tokens, n_full, size)
    out = []
    for batch in batches:
        per_rank = _balance(batch, tokens, world_size, rows_per_device)
        out.append([r for rank in per_rank for r in rank])
    if out:
        heavy = max(range(len(out)), key=lambda b: sum(tokens[r] for r in out[b]))
        head = out.pop(heavy)
        rng.shuffle(out)
        out = [head, *out]
    if tail:
        out.append([r for rank in _balance(tail, tokens, world_size, rows_per_device) for r in rank])
    return out


def _balance(items: Sequence[int], weight: Sequence[int], bins: int, room: int) -> list[list[int]]:
    """Greedy (longest processing time first): items, heaviest first, to the lightest bin with room."""
    out: list[list[int]] = [[] for _ in range(bins)]
    heap = [(0, b) for b in range(bins)]
    for item in sorted(items, key=lambda i: -weight[i]):
        while True:
            load, b = heapq.heappop(heap)
            if len(out[b]) < room:
                break
        out[b].append(item)
        if len(out[b]) < room:
            heapq.heappush(heap, (load + weight[item], b))
    return out


class PackedRowSampler:
    """Row ids of a `PackedRows` dataset in step order (see `step_batches`); a torch-style sampler for
    `DataLoader(PackedRows(ds, rows), batch_size=rows_per_device, sampler=...)`. Every rank builds the same
    sampler and yields the same ids; accelerate's BatchSamplerShard gives rank r the per-device batches
    r, r + W, ..., so the W batches of one step are one global batch."""

    def __init__(
        self,
        rows: Sequence[Sequence[int]],
        lengths: Sequence[int],
        rows_per_device: int,
        world_size: int = 1,
        seed: int = 0,
    ):
        self.rows = [list(r) for r in rows]
        self.lengths = [int(n) for n in lengths]
        self.rows_per_device = rows_per_device
        self.world_size = world_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.rows)

    def global_batches(self) -> list[list[int]]:
        return step_batches(
            self.rows, self.lengths, self.rows_per_device, self.world_size, self.seed + self.epoch
        )

    def __iter__(self) -> Iterator[int]:
        for batch in self.global_batches():
            yield from batch


class PackedRows:
    """A map-style dataset of rows: item r is the list of records of row r, in placement order."""

    def __init__(self, dataset, rows: Sequence[Sequence[int]]):
        self.dataset = dataset
        self.rows = [list(r) for r in rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, r: int) -> list[dict]:
        return [self.dataset[i] for i in self.rows[r]]


# ---- tensors ------------------------------------------------------------------------------------------
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
        from vlmtrain.data import cap_images

        feats = []
        for rec in records:
            rec = cap_images(rec, self.max_pixels)
            feats.append(self.family.encode_one(self.processor, rec, self.plain.train_on_prompt))
        return feats

    def __call__(self, items: list) -> dict:
        if items and isinstance(items[0], dict):
            from vlmtrain.data import cap_images

            return self.plain([cap_images(r, self.max_pixels) for r in items])
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


def packing_refusal(family: Family) -> str:
    """The one config error for `packing: true` on a family that cannot be packed exactly."""
    return (
        f"packing: family {family.name!r} cannot be packed exactly: {family.packing_refusal}; "
        "remove packing (length-grouped batches are the default)"
    )


# ---- statistics for `vlmtrain check` and the benchmark -------------------------------------------------
def packing_stats(lengths: Sequence[int], max_length: int, rows_per_device: int, seed: int = 0) -> dict:
    """What packing gives on these lengths (samples over max_length left out, as the run drops them):

    packing_stats([600, 500, 400, 90], 1024, 2) -> {"samples": 4, "rows": 2, "fill_ratio": 0.7764,
        "steps": 1, "tokens_per_step": {"min": 1590, "mean": 1590.0, "max": 1590}, "pad_fraction": 0.2236}
    fill_ratio: real tokens / (rows * max_length); pad_fraction: the padding of rows up to each per-device
    batch's longest row (0 with flatten/flash-attention).
    """
    kept = [n for n in lengths if n <= max_length]
    rows = plan_rows(kept, max_length, seed)
    batches = step_batches(rows, kept, rows_per_device, 1, seed)
    tokens = [sum(kept[i] for i in row) for row in rows]
    steps = [sum(tokens[r] for r in b) for b in batches]
    padded = sum(max(tokens[r] for r in b) * len(b) for b in batches)
    real = sum(tokens)
    return {
        "samples": len(kept),
        "rows": len(rows),
        "fill_ratio": round(real / (len(rows) * max_length), 4) if rows else 0.0,
        "steps": len(batches),
        "tokens_per_step": step_stats(steps),
        "pad_fraction": round((padded - real) / padded, 4) if padded else 0.0,
    }


def step_stats(tokens_per_step: Sequence[int]) -> dict:
    if not tokens_per_step:
        return {"min": 0, "mean": 0.0, "max": 0}
    return {
        "min": min(tokens_per_step),
        "mean": round(sum(tokens_per_step) / len(tokens_per_step), 1),
        "max": max(tokens_per_step),
    }


# ---- the Trainer hook ---------------------------------------------------------------------------------
def packed_training(args, processor, family: Family, model, train_ds, lengths=None):
    """What `vlmtrain run` needs for `packing: true`: (collator, trainer kwargs, a one-line summary).

    Lengths: `lengths` if given, else the dataset's `length` column (preflight's exact counts). With a
    flash-attention kernel the rows of a batch are flattened into one (no padding; transformers reads the
    sample boundaries from the position ids)."""
    refuse_unpackable(family)
    if args.max_length is None:
        raise VlmTrainError("packing: needs max_length (the length of a packed row)")
    if lengths is None:
        lengths = train_ds["length"]
    lengths = [int(n) for n in lengths]
    seed = args.data_seed if args.data_seed is not None else args.seed
    rows = plan_rows(lengths, args.max_length, seed)
    flatten = str(args.attn_implementation or "").startswith("flash")
    collator = PackedCollator(
        processor,
        family,
        args.max_length,
        train_on_prompt=args.train_on_prompt,
        model_config=model.config,
        max_pixels=args.max_pixels,
        flatten=flatten,
    )
    fill = sum(lengths) / (len(rows) * args.max_length) if rows else 0.0
    note = (
        f"packing {len(lengths)} samples into {len(rows)} rows of at most {args.max_length} tokens "
        f"({fill:.1%} full), {args.per_device_train_batch_size} row(s) per device and step"
        + (", flattened for flash-attention" if flatten else "")
    )
    return collator, {"pack_rows": rows, "pack_lengths": lengths}, note


_TRAINER_CLASS = None


def packed_trainer_class():
    """vlmtrain's trainer (`sampling.grouped_trainer_class()`) whose train DataLoader yields packed rows
    when `pack_rows=[[...], ...]` and `pack_lengths=[...]` are given (row plan and per-record lengths)."""
    global _TRAINER_CLASS
    if _TRAINER_CLASS is not None:
        return _TRAINER_CLASS
    from vlmtrain.sampling import grouped_trainer_class

    class PackedSFTTrainer(grouped_trainer_class()):
        def __init__(self, *args, pack_rows=None, pack_lengths=None, **kwargs):
            self.pack_rows = pack_rows
            self.pack_lengths = pack_lengths
            super().__init__(*args, **kwargs)

        def get_train_dataloader(self):
            if self.pack_rows is None:
                return super().get_train_dataloader()
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            sampler = PackedRowSampler(
                self.pack_rows,
                self.pack_lengths,
                rows_per_device=self._train_batch_size,
                world_size=max(1, self.args.world_size),
                seed=seed,
            )
            return self._get_dataloader(
                dataset=PackedRows(self.train_dataset, self.pack_rows),
                description="Training",
                batch_size=self._train_batch_size,
                sampler_fn=lambda _dataset: sampler,
                is_training=True,
            )

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            # trl counts a batch without attention_mask as position_ids.size(1) tokens: one row's width
            # ([B, W]) or the batch size (M-RoPE's [4, B, W]). Count the real tokens of packed rows instead.
            before = self._total_train_tokens
            out = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            if model.training and "attention_mask" not in inputs and "position_ids" in inputs:
                pad_id = getattr(self.processing_class, "tokenizer", self.processing_class).pad_token_id
                n = real_tokens(inputs["input_ids"], inputs["position_ids"], pad_id)
                total = self.accelerator.gather_for_metrics(n.reshape(1)).sum().item()
                self._total_train_tokens = before + total
                self._metrics["train"]["num_tokens"] = [self._total_train_tokens]
            return out

    _TRAINER_CLASS = PackedSFTTrainer
    return PackedSFTTrainer
