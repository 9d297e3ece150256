"""Each family's collator drives TRL's SFTTrainer on canonical Parquet shards (the production path)."""

from __future__ import annotations

import io

import pytest
from family_records import ALL, assistant_texts

from vlmtrain.families import NAMES

pytestmark = [pytest.mark.train, pytest.mark.slow]


@pytest.fixture(scope="module")
def shard_dataset(tmp_path_factory):
    """ALL records written as a vlmdata Parquet shard and read back by `datasets` (images -> PIL)."""
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vlmdata.record import ARROW_SCHEMA

    rows = []
    for r in ALL:
        images = []
        for im in r["images"]:
            if not isinstance(im, dict):
                buf = io.BytesIO()
                im.save(buf, format="PNG")
                im = {"bytes": buf.getvalue(), "path": "x.png"}
            images.append(im)
        rows.append({**r, "images": images})
    d = tmp_path_factory.mktemp("shards")
    pq.write_table(pa.Table.from_pylist(rows, schema=ARROW_SCHEMA), d / "train-00000-of-00001.parquet")
    return datasets.load_dataset("parquet", data_dir=str(d), split="train")


@pytest.mark.parametrize("name", NAMES)
def test_sfttrainer_trains_two_steps(tiny_model, shard_dataset, tmp_path, name):
    import torch
    from trl import SFTConfig, SFTTrainer

    from vlmtrain.collator import VLMCollator
    from vlmtrain.families import resolve_family

    path = tiny_model(name)
    fam = resolve_family(path)
    proc, model = fam.load_processor(path), fam.load_model(path)
    ds = shard_dataset.filter(
        lambda r: (
            (fam.multi_turn or len(assistant_texts(r)) == 1)
            and (fam.supports_text_only or r["id"] != "text-only")
            and (fam.supports_system or all(m["role"] != "system" for m in r["messages"]))
        )
    )
    before = {n: p.detach().clone() for n, p in model.named_parameters() if n.startswith(fam.language_model)}
    args = SFTConfig(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=2,
        learning_rate=1e-2,
        report_to=[],
        remove_unused_columns=False,
        dataset_kwargs={"skip_prepare_dataset": True},
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = SFTTrainer(
        model=model, args=args, train_dataset=ds, data_collator=VLMCollator(proc, fam), processing_class=proc
    )
    out = trainer.train()
    assert torch.isfinite(torch.tensor(out.training_loss))
    changed = [n for n, p in model.named_parameters() if n in before and not torch.equal(p, before[n])]
    assert changed
