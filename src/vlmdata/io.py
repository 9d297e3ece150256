"""Canonical Parquet shards (ShardWriter), image bytes, and a prefetching iterator.

The shards land in a command's output folder, which `vlmdata.atomic.atomic_output_dir` writes under a
temporary name and renames into place only when the command succeeds.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from vlmdata.formats import parquet
from vlmdata.record import ARROW_SCHEMA
from vlmdata.shard_plan import RowGroup, ShardPlanner, record_size, table_sizes

DEFAULT_MAX_SHARD_BYTES = parquet.MAX_SHARD_BYTES
# Rows are buffered until about this many bytes, then written as one row group: memory stays flat
# (bounded by this, not by the dataset) and row groups stay large enough to read fast.
ROW_GROUP_BYTES = 64 * 1000 * 1000
# Where row groups and shards end is vlmdata.shard_plan's rule, on per-row sizes only (a row with a video
# is a row group alone): the Ray engine's workers, which never see each other's rows, cut the same way.


def shard_name(split: str, index: int, count: int, ext: str = "parquet") -> str:
    return f"{split}-{index:05d}-of-{count:05d}.{ext}"


def partial_name(split: str, index: int) -> str:
    """A shard's name while its split is being written (its final name needs the shard count)."""
    return f".{split}-{index:05d}.parquet.partial"


def name_shards(out_dir: str | os.PathLike, split: str, count: int) -> list[Path]:
    """The split's `count` written shards renamed from partial_name to shard_name: the final paths."""
    final = []
    for i in range(count):
        target = Path(out_dir) / shard_name(split, i, count)
        (Path(out_dir) / partial_name(split, i)).rename(target)
        final.append(target)
    return final


def open_shard(path: str | os.PathLike, schema: pa.Schema = ARROW_SCHEMA) -> pq.ParquetWriter:
    return pq.ParquetWriter(path, schema, compression="snappy")


def row_group_table(pieces: list[pa.Table], schema: pa.Schema = ARROW_SCHEMA) -> pa.Table:
    """A row group's rows as one contiguous chunk per column: Parquet's pages then depend on the rows
    only, not on the batches they arrived in."""
    pieces = [p.replace_schema_metadata(schema.metadata) for p in pieces]
    return pa.concat_tables(pieces).combine_chunks()


def write_row_group(writer: pq.ParquetWriter, table: pa.Table) -> None:
    writer.write_table(table, row_group_size=max(1, table.num_rows))


class ShardWriter:
    """Write canonical records (or ready Arrow batches) into size-bounded Parquet shards of one split.

    writer = ShardWriter(tmp_dir, "train"); writer.write(record) ...; writer.close()
      -> [tmp_dir/train-00000-of-00002.parquet, tmp_dir/train-00001-of-00002.parquet]

    Row groups and shards end where vlmdata.shard_plan's rule says (per-row sizes: about
    `row_group_bytes` per row group, a row with a video alone, shards rolled over at `max_shard_bytes`);
    names get their final `-of-N` count at close. Each row group is written as one contiguous chunk, so
    the same rows give byte-identical files however they were handed in (records or batches of any size).
    Row groups are encoded and written by one background thread, one at a time and in order (Arrow
    leaves the GIL), so the caller prepares the next batch meanwhile; close() waits for the last.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        split: str = "train",
        max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
        schema: pa.Schema = ARROW_SCHEMA,
        row_group_bytes: int = ROW_GROUP_BYTES,
    ):
        self.out_dir = Path(out_dir)
        self.split = split
        self.max_shard_bytes = max_shard_bytes
        self.row_group_bytes = min(row_group_bytes, max_shard_bytes)
        self.schema = schema
        self.rows = 0
        self._planner = ShardPlanner(self.row_group_bytes, max_shard_bytes)
        self._pieces: deque = deque()  # rows not yet written, in order: Arrow tables and lists of records
        self._shards = 0
        self._writer: pq.ParquetWriter | None = None
        self._pool = None  # the writing thread (made at the first write)
        self._inflight = None  # the row group being written

    # -- public -----------------------------------------------------------------------------------
    def write(self, record: dict) -> None:
        if not self._pieces or not isinstance(self._pieces[-1], list):
            self._pieces.append([])
        self._pieces[-1].append(record)
        self._write_groups(self._planner.add_row(record_size(record), bool(record.get("videos"))))

    def write_batch(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Write Arrow data already in the canonical schema (no Python round trip)."""
        if batch.num_rows == 0:
            return
        if isinstance(batch, pa.RecordBatch):
            batch = pa.Table.from_batches([batch])
        self._pieces.append(batch)
        self._write_groups(self._planner.add(*table_sizes(batch)))

    def close(self) -> list[Path]:
        """Finish the last shard and give every shard its final name. A split with no rows gets no file."""
        self._write_groups(self._planner.finish())
        self._close_shard()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        return name_shards(self.out_dir, self.split, self._shards)

    # -- internals --------------------------------------------------------------------------------
    def _write_groups(self, groups: list[RowGroup]) -> None:
        for group in groups:
            self._write_arrow(group.shard, self._take(group.stop - group.start))

    def _take(self, count: int) -> pa.Table:
        """The next `count` buffered rows as one row group's table."""
        parts = []
        while count:
            piece = self._pieces[0]
            k = min(count, len(piece) if isinstance(piece, list) else piece.num_rows)
            if isinstance(piece, list):
                parts.append(pa.Table.from_pylist(piece[:k], schema=self.schema))
                del piece[:k]
                done = not piece
            else:
                parts.append(piece.slice(0, k))
                self._pieces[0] = piece = piece.slice(k)
                done = not piece.num_rows
            if done:
                self._pieces.popleft()
            count -= k
        return row_group_table(parts, self.schema)

    def _write_arrow(self, shard: int, data: pa.Table) -> None:
        if shard >= self._shards:
            self._close_shard()
            self._writer = open_shard(self.out_dir / partial_name(self.split, shard), self.schema)
            self._shards = shard + 1
        self._wait()  # one row group in flight: memory stays bounded
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="vlmdata-shards")
        self._inflight = self._pool.submit(write_row_group, self._writer, data)
        self.rows += data.num_rows

    def _wait(self) -> None:
        """Let the row group in flight finish (its error, if any, is raised here)."""
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            inflight.result()

    def _close_shard(self) -> None:
        self._wait()
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def read_image_bytes(image: dict) -> dict:
    """Return `{"bytes", "path"}` with bytes filled from the file when only a path is known."""
    data = image.get("bytes")
    if data is not None:
        return image if isinstance(data, bytes) else {"bytes": bytes(data), "path": image.get("path")}
    with open(image["path"], "rb") as fh:
        data = fh.read()
    return {"bytes": data, "path": os.path.basename(image["path"])}


def prefetched(make, depth: int = 2) -> Iterator:
    """Iterate `make()` in a background thread, at most `depth` items ahead (for readers that leave
    the GIL, such as Arrow's Parquet decoding). Its errors are raised here; stopping early stops it.

        for batch in prefetched(lambda: pf.iter_batches(64)): ...
    """
    import queue
    import threading

    items: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    end = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in make():
                if not put((item, None)):
                    return
            put((end, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((end, exc))

    thread = threading.Thread(target=run, name="vlmdata-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = items.get()
            if item is end:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        thread.join()
