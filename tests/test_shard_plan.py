"""vlmdata.shard_plan: shard and row-group boundaries from per-row sizes only, and ShardWriter following
them: the same rows give the same files however they are handed in (the Ray engine relies on it)."""

from __future__ import annotations

import hashlib
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vlmdata.io import ShardWriter
from vlmdata.record import ARROW_SCHEMA
from vlmdata.shard_plan import ROW_BYTES, ShardPlanner, plan, record_size, table_sizes


def _records(n: int, seed: int = 0, video_every: int = 9) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        images = [
            {"bytes": rng.randbytes(rng.randint(0, 900)) if rng.random() < 0.8 else None, "path": f"{i}.png"}
            for _ in range(rng.randint(0, 3))
        ]
        videos = [{"bytes": rng.randbytes(500), "path": None}] if i % video_every == 4 else []
        out.append(
            {
                "id": f"r{i}",
                "messages": [{"role": "user", "content": [{"type": "text", "text": f"q{i}"}]}],
                "images": images,
                "videos": videos,
                "audios": [],
                "source": "t",
            }
        )
    return out


def test_plan_example():
    sizes = [400, 400, 400, 1000, 300, 300]
    videos = [False, False, False, True, False, False]
    # groups close at 700 bytes; the video row is alone; shards close at 1500 bytes
    assert plan(sizes, videos, 700, 1500) == [[(0, 2), (2, 3), (3, 4)], [(4, 6)]]
    assert plan([], [], 700, 1500) == []


@pytest.mark.parametrize("seed", range(40))
def test_streaming_row_by_row_and_in_batches_agree(seed):
    rng = random.Random(seed)
    n = rng.randint(0, 300)
    sizes = [rng.randint(ROW_BYTES, 5000) for _ in range(n)]
    videos = [rng.random() < 0.05 for _ in range(n)]
    group_bytes, shard_bytes = rng.randint(1, 20_000), rng.randint(1, 60_000)
    one = ShardPlanner(group_bytes, shard_bytes)
    by_row = [g for s, v in zip(sizes, videos, strict=True) for g in one.add_row(s, v)] + one.finish()
    other = ShardPlanner(group_bytes, shard_bytes)
    by_batch, i = [], 0
    while i < n:
        k = rng.randint(1, 40)
        by_batch += other.add(sizes[i : i + k], videos[i : i + k])
        i += k
    assert by_row == by_batch + other.finish()
    assert [(g.start, g.stop) for g in by_row] == [
        r for shard in plan(sizes, videos, group_bytes, shard_bytes) for r in shard
    ]
    assert [g.start for g in by_row] == [0] + [g.stop for g in by_row][:-1]  # every row, once, in order
    assert all(g.stop - g.start == 1 for g in by_row if videos[g.start])
    assert sorted({g.shard for g in by_row}) == list(range(len({g.shard for g in by_row})))


def test_table_sizes_equal_record_sizes():
    records = _records(60)
    table = pa.Table.from_pylist(records, schema=ARROW_SCHEMA)
    chunked = pa.concat_tables([table.slice(0, 7), table.slice(7, 30), table.slice(37)])
    for data in (table, table.slice(11, 25), chunked):
        sizes, videos = table_sizes(data)
        rows = data.to_pylist()
        assert sizes.tolist() == [record_size(r) for r in rows]
        assert videos.tolist() == [bool(r["videos"]) for r in rows]


def _digests(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.parquet"))}


def test_same_rows_same_files_however_handed_in(tmp_path):
    records = _records(120)
    table = pa.Table.from_pylist(records, schema=ARROW_SCHEMA)
    ways = {
        "records": lambda w: [w.write(r) for r in records],
        "one_batch": lambda w: w.write_batch(table),
        "batches_of_7": lambda w: [w.write_batch(table.slice(i, 7)) for i in range(0, 120, 7)],
        "mixed": lambda w: (
            [w.write(r) for r in records[:50]],
            w.write_batch(table.slice(50, 33).to_batches()[0]),
            [w.write(r) for r in records[83:]],
        ),
    }
    found = {}
    for name, feed in ways.items():
        writer = ShardWriter(tmp_path / name, "train", max_shard_bytes=20_000, row_group_bytes=3000)
        (tmp_path / name).mkdir()
        feed(writer)
        writer.close()
        found[name] = _digests(tmp_path / name)
    assert len(found["records"]) > 2
    assert all(v == found["records"] for v in found.values())
    sizes, videos = table_sizes(table)
    expected = plan(sizes, videos, 3000, 20_000)
    files = sorted((tmp_path / "records").glob("*.parquet"))
    assert len(files) == len(expected)
    for path, groups in zip(files, expected, strict=True):
        meta = pq.ParquetFile(path).metadata
        assert [meta.row_group(k).num_rows for k in range(meta.num_row_groups)] == [b - a for a, b in groups]
    ids = [i for p in files for i in pq.read_table(p).column("id").to_pylist()]
    assert ids == [r["id"] for r in records]
