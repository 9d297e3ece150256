"""Layer 2 (packing): where samples go: rows of at most max_length tokens (best-fit decreasing), rows into
token-balanced steps and ranks, and the sampler over them. No torch (the figures `vlmtrain check` reports on a
plan: `vlmtrain.stats`)."""

from __future__ import annotations

import bisect
import heapq
import random
from collections.abc import Iterator, Sequence

from vlmtrain.errors import VlmTrainError


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
