"""Layer 2 (sampler): length-grouped batching: vision samples cannot be packed, so padding is where the time
goes.

    lengths = record_lengths(train_ds, processor, family, max_pixels)   # [342, 57, 1210, ...] from headers
    sampler = LengthGroupedSampler(lengths, batch_size=8, world_size=2, seed=42)
    list(sampler)  # -> [17, 4, 230, 9, ...]: a permutation of range(len(lengths))

The order: shuffle all indices (seeded), cut them into windows of `window_batches` global batches, sort
each window by length (longest first; the shuffle breaks ties), cut it into global batches of
`batch_size * world_size` (the last window's short batch taken where it pads least, so grouping never
pads more than random batches), then shuffle the global batches, except that the full batch holding
the longest sample goes first (an OOM shows at step 1, not hours in) and an incomplete batch goes
last (so every other batch boundary stays aligned). The seed is `seed + epoch` (`set_epoch`), so a resumed run sees
the same order, and no global RNG is touched.

Distributed: every rank builds the same sampler (same seed, same lengths) and yields the same indices;
the DataLoader cuts them into per-device batches and accelerate's `BatchSamplerShard` deals those
round-robin to the ranks, so the ranks get disjoint, equally many batches, and the W per-device batches
of one optimizer step come from one global batch: similar lengths, so no rank waits for a long one.

Why not transformers' `LengthGroupedSampler` (train_sampling_strategy="group_by_length" with a length
column): it draws from the global torch RNG, has no `set_epoch`, ignores the world size, and yields each
megabatch's batches sorted longest to shortest, so the loss curve gets a sawtooth every 50 batches.

The trainer that uses this sampler: `vlmtrain.trainers.grouped_trainer_class`; the padding it saves:
`vlmtrain.stats.batch_padding`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from vlmtrain.errors import VlmTrainError

# Windows of this many global batches are sorted together: wide enough that batches are nearly
# uniform in length, narrow enough that a batch's members change from epoch to epoch on large data.
WINDOW_BATCHES = 64


class LengthGroupedSampler:
    """Indices of a dataset in length-grouped order (see the module docstring). A torch-style sampler:
    `DataLoader(dataset, batch_size=batch_size, sampler=LengthGroupedSampler(...))`."""

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        world_size: int = 1,
        seed: int = 0,
        window_batches: int | None = WINDOW_BATCHES,
    ):
        if batch_size < 1 or world_size < 1:
            raise VlmTrainError(f"batch_size ({batch_size}) and world_size ({world_size}) must be >= 1")
        self.lengths = [int(n) for n in lengths]
        self.batch_size = batch_size
        self.world_size = world_size
        self.seed = seed
        self.window_batches = window_batches
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def global_batches(self) -> list[list[int]]:
        """This epoch's global batches (each batch_size * world_size indices, the last maybe fewer)."""
        n = len(self.lengths)
        size = self.batch_size * self.world_size
        rng = random.Random(self.seed + self.epoch)
        order = list(range(n))
        rng.shuffle(order)
        window = n if self.window_batches is None else self.window_batches * size
        batches: list[list[int]] = []
        tail: list[list[int]] = []
        for start in range(0, n, max(window, 1)):
            # Stable sort: equal lengths keep their shuffled order.
            chunk = sorted(order[start : start + window], key=lambda i: -self.lengths[i])
            full, short = self._cut(chunk, size)
            batches += full
            tail += short
        if not batches:
            return tail
        first = max(range(len(batches)), key=lambda b: max(self.lengths[i] for i in batches[b]))
        head = batches.pop(first)
        rng.shuffle(batches)
        return [head, *batches, *tail]

    def _cut(self, chunk: list[int], size: int) -> tuple[list[list[int]], list[list[int]]]:
        """A window sorted longest first -> (full batches, [the short batch] or []). The r = len % size
        records of the short batch are the contiguous run that pads least: cutting full batches from the
        long end leaves the shortest records for the short batch and may pad a full one to a long row
        ([1629, 56] + [52] instead of [1629] + [56, 52]: more padding than random batches). Contiguous runs of the sorted
        order are the optimum for each choice, so the window pads no more than any other cut of it."""
        m, r = divmod(len(chunk), size)
        if r == 0:
            return [chunk[j : j + size] for j in range(0, len(chunk), size)], []
        # Padded tokens if the short batch follows k full batches (each batch pads to its first row):
        # size * (starts before it) + r * its own first row + size * (starts after it, shifted by r).
        before = [self.lengths[chunk[j * size]] for j in range(m + 1)]
        after = [self.lengths[chunk[r + j * size]] for j in range(m)]
        prefix = [0]
        for v in before[:m]:
            prefix.append(prefix[-1] + v)
        suffix = [0] * (m + 1)
        for j in range(m - 1, -1, -1):
            suffix[j] = suffix[j + 1] + after[j]

        def padded(k: int) -> int:
            return size * prefix[k] + r * before[k] + size * suffix[k]

        k = min(range(m, -1, -1), key=padded)  # ties: the shortest records make the short batch
        cut = k * size
        full = chunk[:cut] + chunk[cut + r :]
        return [full[j : j + size] for j in range(0, len(full), size)], [chunk[cut : cut + r]]

    def __iter__(self) -> Iterator[int]:
        for batch in self.global_batches():
            yield from batch


# ---- lengths from the check module (image headers, no pixel decoding) ----------------------------------
def record_lengths(dataset, processor, family, max_pixels: int | None = None, chunk: int = 512) -> list[int]:
    """Exact input_ids length of every record of a `datasets.Dataset` of canonical records, image tokens
    included, as the collator will produce it (after the run's max_pixels cap).

    The dataset's own rows, read as preflight reads them (`vlmtrain.data.dataset_chunks`: images stay
    {"bytes", "path"}, no decode): `vlmtrain.tokens.count_records` takes sizes from the headers. A record
    that cannot be counted stops the run, naming it.
    """
    from vlmtrain.data import dataset_chunks
    from vlmtrain.tokens import count_records

    lengths: list[int] = []
    for start, records in dataset_chunks(dataset, chunk):
        counts, problems = count_records(records, processor, family, start=start, max_pixels=max_pixels)
        if problems:
            shown = "\n".join(f"  - {p.describe()}" for p in problems[:10])
            raise VlmTrainError(
                f"{len(problems)} record(s) cannot be counted for length-grouped batching:\n{shown}\n"
                "fix: `vlmtrain check` lists them; or set train_sampling_strategy: random"
            )
        lengths += [c.length for c in counts]
    if len(lengths) != len(dataset):
        raise VlmTrainError(f"counted {len(lengths)} lengths for {len(dataset)} records")
    return lengths
