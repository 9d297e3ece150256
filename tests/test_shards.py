"""vlmdata.shards, the one shard layer: a split's files (one rule about subfolders), the canonical
layout test, and reading a split through `datasets` (decoded or not) or streamed with pyarrow."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_helpers import record, write_canonical
from vlmdata import shards
from vlmdata.record import LEGACY_SCHEMA


@pytest.fixture
def folder(tmp_path):
    out = tmp_path / "d"
    write_canonical(out, [record(f"t{i}") for i in range(3)])
    write_canonical(out, [record("v0")], split="validation")
    return out


def test_split_files_top_level_then_data_and_no_other_subfolder(folder):
    assert [p.name for p in shards.split_files(folder, "train")] == ["train-00000-of-00001.parquet"]
    assert shards.splits(folder) == ["train", "validation"]
    old = folder / "old"  # a copy in another subfolder never joins the split
    old.mkdir()
    shutil.copy(folder / "train-00000-of-00001.parquet", old / "train-00000-of-00001.parquet")
    (folder / ".train-00001.parquet.partial").write_bytes(b"")  # a writer's partial file
    assert shards.split_files(folder, "train") == [folder / "train-00000-of-00001.parquet"]
    hub = folder.parent / "hub"  # the Hub's layout: shards under data/
    (hub / "data").mkdir(parents=True)
    shutil.copy(folder / "train-00000-of-00001.parquet", hub / "data" / "train-00000-of-00001.parquet")
    assert shards.split_files(hub, "train") == [hub / "data" / "train-00000-of-00001.parquet"]
    assert shards.split_files(hub, "test") == [] and shards.splits(hub) == ["train"]


def test_require_split_names_the_splits_found(folder):
    with pytest.raises(shards.ShardError) as err:
        shards.require_split(folder, "test")
    assert str(err.value) == f"{folder}: no 'test' split (no test-*.parquet); splits found: train, validation"


def test_layout_one_rule(folder, tmp_path):
    shard = folder / "train-00000-of-00001.parquet"
    assert shards.layout(shard) == "current" and shards.is_canonical(shard) and shards.is_canonical(folder)
    legacy = tmp_path / "legacy.parquet"
    pq.write_table(pq.read_table(shard).select(LEGACY_SCHEMA.names).cast(LEGACY_SCHEMA), legacy)
    assert shards.layout(legacy) == "legacy" and shards.is_canonical(legacy)
    near = tmp_path / "near.parquet"  # the canonical columns, another type: validate says how it differs
    pq.write_table(pa.table({"id": [1], "messages": ["m"], "images": ["i"], "source": ["s"]}), near)
    assert shards.layout(near) == "near" and not shards.is_canonical(near)
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"messages": ["m"]}), other)
    assert shards.layout(other) is None and not shards.is_canonical(other)
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    assert shards.layout(tmp_path / "broken.parquet") is None
    assert not shards.is_canonical(tmp_path)  # a folder with no split shards


def test_load_split_decoded_or_not(folder):
    raw = shards.load_split(folder, "train", decode=False)
    assert raw["id"] == ["t0", "t1", "t2"]
    image = raw[0]["images"][0]
    assert set(image) == {"bytes", "path"} and image["bytes"][:4] == b"\x89PNG"
    decoded = shards.load_split(folder, "train", decode=True)
    assert decoded[0]["images"][0].size == (32, 32)


def test_iter_split_streams_records_with_their_positions(folder):
    batches = list(shards.iter_split(folder, "train", columns=["id", "images"], batch_size=2))
    assert [(file.rsplit("/", 1)[-1], first, [r["id"] for r in recs]) for file, first, recs in batches] == [
        ("train-00000-of-00001.parquet", 0, ["t0", "t1"]),
        ("train-00000-of-00001.parquet", 2, ["t2"]),
    ]
    assert set(batches[0][2][0]) == {"id", "images"}


def test_check_shards_names_the_file(tmp_path):
    bad = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.table({"text": ["x"]}), bad)
    with pytest.raises(shards.ShardError, match=r"not a vlmdata shard: no column\(s\) id, messages, images"):
        shards.check_shards([bad])
