"""Layer 3 (trainers): `trl.SFTTrainer` with atomic checkpoints and length-grouped train batches."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from vlmtrain.errors import VlmTrainError
from vlmtrain.sampling import WINDOW_BATCHES, LengthGroupedSampler
from vlmtrain.trainers.checkpoints import AtomicCheckpoints


@functools.cache
def grouped_trainer_class():
    """`trl.SFTTrainer` whose checkpoints are complete or absent (`AtomicCheckpoints`) and whose train
    sampler is `LengthGroupedSampler` when the config says `train_sampling_strategy: group_by_length`
    (vlmtrain's default). Lengths: `train_lengths=[...]` (one
    per train record) if given, else the dataset's `length_column_name` column (`vlmtrain run`'s preflight
    adds it). Other strategies, or no lengths at all, fall through to transformers.

    Built on first call (trl is imported then) and the same class returned afterwards."""
    from trl import SFTTrainer

    class GroupedSFTTrainer(AtomicCheckpoints, SFTTrainer):
        def __init__(self, *args, train_lengths: Sequence[int] | None = None, **kwargs):
            self.train_lengths = train_lengths
            super().__init__(*args, **kwargs)

        def _get_train_sampler(self, train_dataset=None):
            dataset = self.train_dataset if train_dataset is None else train_dataset
            lengths = self.train_lengths
            column = self.args.length_column_name
            if lengths is None and column in (getattr(dataset, "column_names", None) or ()):
                lengths = dataset[column]
            if self.args.train_sampling_strategy != "group_by_length" or lengths is None:
                return super()._get_train_sampler(train_dataset)
            if len(lengths) != len(dataset):
                raise VlmTrainError(
                    f"{len(lengths)} lengths for {len(dataset)} train records; "
                    "count lengths after filtering the dataset"
                )
            seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
            return LengthGroupedSampler(
                lengths,
                batch_size=self._train_batch_size,
                world_size=max(1, self.args.world_size),
                seed=seed,
                window_batches=WINDOW_BATCHES,
            )

    return GroupedSFTTrainer
