"""Layer 4 (drivers): vlmdata shards as a llama-cookbook custom dataset, with vlmtrain's collator
(assistant-only labels).

llama-cookbook's finetuning script loads this file by path and calls its two functions. llama-cookbook
0.0.5.post1 needs transformers 4 and accelerate < 1.13, so it runs in its own venv with plain `vlmkit`
(README, "llama-cookbook"):

    python -m llama_cookbook.finetuning --model_name meta-llama/Llama-3.2-11B-Vision-Instruct \\
        --use_peft --peft_method lora --batching_strategy padding --run_validation False \\
        --dataset custom_dataset --custom_dataset.data_path data/naruto \\
        --custom_dataset.file "$(python -c 'import vlmtrain.integrations.llama_cookbook as m; print(m.__file__)')"
    # GPUs: torchrun --nproc_per_node N -m llama_cookbook.finetuning ... --enable_fsdp (its FSDP and
    # validation paths need CUDA)

    get_custom_dataset(dataset_config, processor, "train")      -> Dataset of canonical records
        {"id", "messages": [...], "images": [PIL.Image], "source"}
    get_data_collator(processor)(records) -> {"input_ids", "attention_mask", "labels", "pixel_values", ...}

The data folder is `dataset_config.data_path` (llama-cookbook's `custom_dataset` config has the key,
empty by default: `--custom_dataset.data_path DIR`), else $VLMTRAIN_DATA_DIR. A split with its own shards
(`validation-*.parquet`) is used as it is; a split without shards is carved out of the train shards with
`split_ratio` (same seed for both calls, so train and test never overlap). The family comes from
$VLMTRAIN_FAMILY, else from the model folder the processor was loaded from (its config.json).
"""

from __future__ import annotations

import os
from pathlib import Path

from vlmtrain.errors import VlmTrainError

DATA_ENV = "VLMTRAIN_DATA_DIR"
FAMILY_ENV = "VLMTRAIN_FAMILY"
SEED = 42


def _data_dir(dataset_config) -> Path:
    path = getattr(dataset_config, "data_path", None) or os.environ.get(DATA_ENV)
    if not path:
        raise VlmTrainError(f"no data folder: give --custom_dataset.data_path DIR (or set {DATA_ENV}=DIR)")
    if not Path(path).is_dir():
        raise VlmTrainError(f"{path}: data folder does not exist")
    return Path(path)


def get_custom_dataset(dataset_config, processor, split, split_ratio=0.9):
    """llama-cookbook's dataset hook: canonical records of `split` (see the module docstring)."""
    from vlmdata.shards import split_files
    from vlmtrain.data import load_split

    root = _data_dir(dataset_config)
    train_name = getattr(dataset_config, "train_split", "train")
    test_name = getattr(dataset_config, "test_split", "validation")
    if split_files(root, test_name) or split not in (train_name, test_name):
        return load_split(root, split, decode=True)
    # No test shards: carve both splits from the train shards with one seed, so they never overlap.
    parts = load_split(root, train_name, decode=True).train_test_split(
        test_size=1 - split_ratio, shuffle=True, seed=SEED
    )
    return parts["train" if split == train_name else "test"]


def _family_of(processor):
    from vlmtrain.families import resolve_family

    name = os.environ.get(FAMILY_ENV)
    if name:
        return resolve_family(name)
    tokenizer = getattr(processor, "tokenizer", processor)
    source = getattr(tokenizer, "name_or_path", None)
    if source and Path(source).is_dir():
        return resolve_family(source)
    if source:
        from vlmtrain.config import model_config_path

        cached = model_config_path(source)
        if cached is not None:
            return resolve_family(cached)
    raise VlmTrainError(f"cannot tell the model family of {type(processor).__name__}; set {FAMILY_ENV}")


def get_data_collator(processor):
    """llama-cookbook's collator hook: vlmtrain's collator for the processor's family."""
    from vlmtrain.collator import VLMCollator

    return VLMCollator(processor, _family_of(processor))
