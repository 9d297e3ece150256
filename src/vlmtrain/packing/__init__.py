"""Layer 2 (packing): exact, padding-free sequence packing: several whole samples share one row, and none sees
another.

    rows = plan_rows(lengths=[700, 300, 1000, 20], max_length=1024, seed=0)  # -> [[2], [0, 1, 3]]
    sampler = PackedRowSampler(rows, lengths, rows_per_device=2, world_size=1, seed=0)
    collator = PackedCollator(processor, family, max_length=1024, model_config=model.config)
    collator([[rec2], [rec0, rec1, rec3]])
      -> {"input_ids": [2, W], "labels": [2, W], "position_ids": [2, W] (M-RoPE families: [4, 2, W]),
          "pixel_values": ..., <family extras>}                      # no attention_mask, W <= 1024

Modules: `plan` (row plan, step order, sampler; no torch), `collate` (tensors), `attention` (sdpa per packed
sample). The trainer that trains on rows and the `vlmtrain run` hook: `vlmtrain.trainers.packed`; the figures
`vlmtrain check` reports: `vlmtrain.stats.packing_stats`.

Rows: the exact pre-flight token counts (image expansion included) are placed best-fit decreasing into
rows of at most `max_length` tokens; a sample is never split, so image tokens are never cut.

Isolation: each sample is encoded by the family's own `encode_one` (labels exactly those of the unpacked
sample) and its position ids restart at 0 (`Family.packed_position_ids`). With no attention mask,
transformers reads restarting position ids as packed sequences (`masking_utils.find_packed_sequence_indices`
for sdpa/eager, cu_seqlens from the position ids for flash-attention) and masks attention between them. It
looks for them only when no KV cache is passed: trl's SFTTrainer trains with use_cache=False (call the model
the same way outside it).
The first label of every sample is -100, so no sample is trained to predict the next one's first token
(the loss shifts labels by one). Image inputs are concatenated in token order; keys whose dim 0 is the row
(`Family.per_row_keys`, e.g. Idefics3's pixel_values) are concatenated along their image dim instead.
A row shorter than the batch's longest is padded with pad tokens whose positions restart too, so the pad
is a sequence of its own. With `flatten=True` (flash-attention, or `attention.PACKED_SDPA`, which
`vlmtrain run` uses in place of sdpa: sdpa per sample instead of over whole masked rows) the rows of a batch
become one row and there is no padding at all.

Steps: rows are dealt to global batches of rows_per_device * world_size so every optimizer step carries
about the same number of tokens (largest row first, to the lightest batch), and inside a global batch to
ranks the same way; the DataLoader cuts the stream into per-device batches and accelerate deals those
round-robin to the ranks, as for `vlmtrain.sampling.LengthGroupedSampler`. The row plan is fixed for a seed;
the epoch (`set_epoch`) reshuffles which rows share a step and the step order.
"""

from vlmtrain.packing.attention import PACKED_SDPA, use_packed_sdpa
from vlmtrain.packing.collate import (
    PackedCollator,
    batch_rows,
    pack_features,
    real_tokens,
    refuse_unpackable,
)
from vlmtrain.packing.plan import (
    PackedRows,
    PackedRowSampler,
    plan_rows,
    step_batches,
)

__all__ = [
    "PACKED_SDPA",
    "PackedCollator",
    "PackedRowSampler",
    "PackedRows",
    "batch_rows",
    "pack_features",
    "plan_rows",
    "real_tokens",
    "refuse_unpackable",
    "step_batches",
    "use_packed_sdpa",
]
