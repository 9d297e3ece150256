"""Layer 3 (trainers): vlmtrain's `trl.SFTTrainer` subclasses, built on first use (no module globals).

    grouped_trainer_class()(model=..., args=..., train_dataset=ds, train_lengths=[...], ...)
      -> length-grouped batches (`vlmtrain.sampling.LengthGroupedSampler`), atomic checkpoints
    packed_trainer_class()(..., pack_rows=[[2], [0, 1, 3]], pack_lengths=[...])
      -> the same, training on packed rows (`vlmtrain.packing`)
    packed_training(args, processor, family, model, train_ds) -> (collator, trainer kwargs, summary)

Each factory is `functools.cache`d: one class per process, made when first asked for (trl is imported then).
"""

from vlmtrain.trainers.checkpoints import AtomicCheckpoints
from vlmtrain.trainers.grouped import grouped_trainer_class
from vlmtrain.trainers.packed import MASKED_KERNELS, flat_rows, packed_trainer_class, packed_training

__all__ = [
    "MASKED_KERNELS",
    "AtomicCheckpoints",
    "flat_rows",
    "grouped_trainer_class",
    "packed_trainer_class",
    "packed_training",
]
