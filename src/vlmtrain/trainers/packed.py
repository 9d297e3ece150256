"""Layer 3 (trainers): the `vlmtrain run` hook for `packing: true`: the row plan, the collator and a trainer
that trains on rows."""

from __future__ import annotations

import functools

from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import Family
from vlmtrain.packing.attention import PACKED_SDPA, use_packed_sdpa
from vlmtrain.packing.collate import PackedCollator, real_tokens, refuse_unpackable
from vlmtrain.packing.plan import PackedRows, PackedRowSampler, plan_rows
from vlmtrain.trainers.grouped import grouped_trainer_class

# Kernels that take transformers' packed-sequence *mask* (built from the position ids per batch row). Any
# other kernel (flash-attention 2/3, hub kernels) finds sample boundaries from the position ids only when the
# batch is a single row, so a step's rows are flattened into one for it.
MASKED_KERNELS = (None, "sdpa", "eager", "flex_attention")


def flat_rows(attn_implementation: str | None) -> bool:
    """True when packed rows must be flattened into one row for this attention kernel."""
    return attn_implementation not in MASKED_KERNELS


def packed_training(args, processor, family: Family, model, train_ds, lengths=None):
    """What `vlmtrain run` needs for `packing: true`: (collator, trainer kwargs, a one-line summary).

    Lengths: `lengths` if given, else the dataset's `length` column (preflight's exact counts). With sdpa
    (or no kernel chosen) the language model switches to `attention.PACKED_SDPA` (sdpa per sample). With it
    or a flash-attention kernel the rows of a batch are flattened into one (`flat_rows`: no padding at all;
    the sample boundaries come from the position ids)."""
    refuse_unpackable(family)
    if args.max_length is None:
        raise VlmTrainError("packing: needs max_length (the length of a packed row)")
    if lengths is None:
        lengths = train_ds["length"]
    lengths = [int(n) for n in lengths]
    seed = args.data_seed if args.data_seed is not None else args.seed
    rows = plan_rows(lengths, args.max_length, seed)
    kernel = args.attn_implementation
    if kernel in (None, "sdpa"):
        # sdpa on the block mask would attend over whole rows; per sample it costs sum(T_i^2) instead.
        use_packed_sdpa(model)
        kernel = PACKED_SDPA
    flatten = flat_rows(kernel)
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
        + (f", flattened into one row for {kernel}" if flatten else "")
    )
    return collator, {"pack_rows": rows, "pack_lengths": lengths}, note


@functools.cache
def packed_trainer_class():
    """vlmtrain's trainer (`grouped_trainer_class()`) whose train DataLoader yields packed rows
    when `pack_rows=[[...], ...]` and `pack_lengths=[...]` are given (row plan and per-record lengths)."""

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

    return PackedSFTTrainer
