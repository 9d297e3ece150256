"""The background threads of vlmdata.io: the Parquet prefetch and the shard writer's writing thread."""

from __future__ import annotations

import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vlmdata.io import ShardWriter, prefetched
from vlmdata.record import ARROW_SCHEMA


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


def test_prefetched_keeps_order_and_stops():
    assert list(prefetched(lambda: iter(range(50)))) == list(range(50))
    for k in prefetched(lambda: iter(range(10**6)), depth=2):
        if k == 3:
            break
    assert "vlmdata-prefetch" not in _threads()  # stopping early stopped the thread


def test_prefetched_raises_the_producers_error():
    def make():
        yield 1
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for k in prefetched(make):
            got.append(k)
    assert got == [1]


def _rows(n: int, start: int = 0) -> pa.Table:
    rows = [
        {"id": f"r{i}", "messages": [{"role": "user", "content": [{"type": "text", "text": f"q{i}"}]}],
         "images": [], "videos": [], "audios": [], "source": "t"}
        for i in range(start, start + n)
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=ARROW_SCHEMA)


def test_shard_writer_writes_in_order_across_shards(tmp_path):
    writer = ShardWriter(tmp_path, "train", max_shard_bytes=2000, row_group_bytes=500)
    for k in range(20):
        writer.write_batch(_rows(5, 5 * k))
    files = writer.close()
    assert len(files) > 1
    ids = [i for f in files for i in pq.read_table(f).column("id").to_pylist()]
    assert ids == [f"r{i}" for i in range(100)]
    assert "vlmdata-shards" not in " ".join(_threads())


def test_shard_writer_raises_a_failed_write(tmp_path):
    writer = ShardWriter(tmp_path, "train", row_group_bytes=1)
    writer.write_batch(_rows(2))
    writer._wait()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    writer._writer.write_table = full_disk  # the next row group fails in the writing thread
    with pytest.raises(OSError, match="No space left"):  # at the next write or at close
        writer.write_batch(_rows(2, 2))
        writer.close()
