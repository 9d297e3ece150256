"""Seed tools' ways in: llama-cookbook's custom dataset file, and TRL's stock SFTTrainer on our shards."""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass

import pytest
from run_helpers import record, write_shards

import vlmtrain.integrations.llama_cookbook as cookbook_module


@dataclass
class custom_dataset:  # noqa: N801 - llama-cookbook's own config class, as its finetuning script builds it
    dataset: str = "custom_dataset"
    file: str = cookbook_module.__file__
    train_split: str = "train"
    test_split: str = "validation"
    data_path: str = ""  # llama-cookbook 0.0.5.post1's custom_dataset has it, empty by default


def load_like_llama_cookbook(path: str):
    """What llama-cookbook's `load_module_from_py_file` does with --custom_dataset.file."""
    spec = importlib.util.spec_from_file_location("custom_dataset_file", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def train_only(tmp_path_factory):
    return write_shards(tmp_path_factory.mktemp("train_only"), {"train": [record(i) for i in range(10)]})


def test_cookbook_splits_without_validation_shards(train_only, monkeypatch):
    monkeypatch.setenv("VLMTRAIN_DATA_DIR", str(train_only))
    module = load_like_llama_cookbook(custom_dataset.file)
    config = custom_dataset()
    train = module.get_custom_dataset(config, None, "train")
    test = module.get_custom_dataset(config, None, config.test_split)
    assert (len(train), len(test)) == (9, 1)
    ids = set(train["id"]) | set(test["id"])
    assert ids == {f"rec-{i:03d}" for i in range(10)} and not set(train["id"]) & set(test["id"])
    assert train[0]["images"][0].size == (32, 32)  # decoded to PIL by the shards' metadata


def test_cookbook_uses_validation_shards(tmp_path, monkeypatch):
    data = write_shards(tmp_path, {"train": [record(i) for i in range(3)], "validation": [record(7)]})
    monkeypatch.setenv("VLMTRAIN_DATA_DIR", str(data))
    module = load_like_llama_cookbook(custom_dataset.file)
    assert module.get_custom_dataset(custom_dataset(), None, "validation")["id"] == ["rec-007"]
    assert len(module.get_custom_dataset(custom_dataset(), None, "train")) == 3


def test_cookbook_needs_a_data_folder(monkeypatch):
    from vlmtrain.errors import VlmTrainError

    monkeypatch.delenv("VLMTRAIN_DATA_DIR", raising=False)
    with pytest.raises(VlmTrainError) as err:
        cookbook_module.get_custom_dataset(custom_dataset(), None, "train")
    assert (
        str(err.value) == "no data folder: give --custom_dataset.data_path DIR (or set VLMTRAIN_DATA_DIR=DIR)"
    )


def test_cookbook_reads_custom_dataset_data_path(train_only, monkeypatch):
    """--custom_dataset.data_path DIR, as llama-cookbook's config passes it; it wins over the variable."""
    monkeypatch.setenv("VLMTRAIN_DATA_DIR", "/no/such/folder")
    module = load_like_llama_cookbook(custom_dataset.file)
    train = module.get_custom_dataset(custom_dataset(data_path=str(train_only)), None, "train")
    assert len(train) == 9


@pytest.mark.slow
def test_cookbook_training_step_on_mllama(train_only, tiny_model, monkeypatch):
    """llama-cookbook's loop in miniature: DataLoader(dataset, collate_fn=get_data_collator(processor)),
    forward, backward, step, on the family it was written for (Llama 3.2 Vision = mllama)."""
    import torch

    from vlmtrain.families import resolve_family

    monkeypatch.setenv("VLMTRAIN_DATA_DIR", str(train_only))
    model_dir = tiny_model("mllama")
    family = resolve_family(model_dir)
    processor = family.load_processor(model_dir)
    model = family.load_model(model_dir)
    module = load_like_llama_cookbook(custom_dataset.file)
    dataset = module.get_custom_dataset(custom_dataset(), processor, "train")
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=2, collate_fn=module.get_data_collator(processor)
    )
    batch = next(iter(loader))
    assert (batch["labels"] != -100).any() and (batch["labels"] == -100).any()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    assert math.isfinite(loss.item())


@pytest.mark.slow
def test_trl_stock_sfttrainer_trains_on_our_shards(train_only, tiny_model, tmp_path):
    """TRL's own vision collator (no vlmtrain code in the loop) reads the shards unchanged."""
    from datasets import load_dataset
    from trl import SFTConfig, SFTTrainer

    from vlmtrain.families import resolve_family

    model_dir = tiny_model("qwen2_vl")
    family = resolve_family(model_dir)
    dataset = load_dataset("parquet", data_dir=str(train_only), split="train")
    args = SFTConfig(
        output_dir=str(tmp_path / "trl"),
        max_steps=2,
        per_device_train_batch_size=2,
        bf16=False,
        use_cpu=True,
        report_to=[],
        save_strategy="no",
        logging_steps=1,
        max_length=None,
        disable_tqdm=True,
    )
    trainer = SFTTrainer(
        model=family.load_model(model_dir),
        args=args,
        train_dataset=dataset,
        processing_class=family.load_processor(model_dir),
    )
    assert type(trainer.data_collator).__name__ == "DataCollatorForVisionLanguageModeling"
    result = trainer.train()
    assert trainer.state.global_step == 2 and math.isfinite(result.training_loss)
