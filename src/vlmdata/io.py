"""Canonical Parquet shards (ShardWriter), image bytes, and a prefetching iterator.

The shards land in a command's output folder, which `vlmdata.atomic.atomic_output_dir` writes under a
temporary name and renames into place only when the command succeeds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from vlmdata.formats import parquet
from vlmdata.record import ARROW_SCHEMA, MEDIA_LISTS

DEFAULT_MAX_SHARD_BYTES = parquet.MAX_SHARD_BYTES
# Rows are buffered until about this many bytes, then written as one row group: memory stays flat
# (bounded by this, not by the dataset) and row groups stay large enough to read fast.
ROW_GROUP_BYTES = 64 * 1000 * 1000
# A row holding a video is a row group of its own: Parquet reads whole column chunks, so a reader that
# wants one sample reads its video and no neighbour's (each extra row group costs about 1 KB of footer).


def shard_name(split: str, index: int, count: int, ext: str = "parquet") -> str:
    return f"{split}-{index:05d}-of-{count:05d}.{ext}"


class ShardWriter:
    """Write canonical records (or ready Arrow batches) into size-bounded Parquet shards of one split.

    writer = ShardWriter(tmp_dir, "train"); writer.write(record) ...; writer.close()
      -> [tmp_dir/train-00000-of-00002.parquet, tmp_dir/train-00001-of-00002.parquet]

    Shards are rolled over when the bytes written reach `max_shard_bytes`; names get their final
    `-of-N` count at close. Rows without videos share row groups of about `row_group_bytes`; a row with
    a video is a row group alone (reading one sample never reads another sample's video). Output is deterministic: the same records give byte-identical files.
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
        self._paths: list[Path] = []
        self._writer: pq.ParquetWriter | None = None
        self._shard_bytes = 0
        self._buffer: list[dict] = []
        self._buffer_bytes = 0
        self._pending: list[pa.Table] = []
        self._pending_bytes = 0
        self._pool = None  # the writing thread (made at the first write)
        self._inflight = None  # the row group being written

    # -- public -----------------------------------------------------------------------------------
    def write(self, record: dict) -> None:
        if record.get("videos"):
            self._flush()
            self._buffer.append(record)
            self._flush()
            return
        self._buffer.append(record)
        self._buffer_bytes += _record_bytes(record)
        if self._buffer_bytes >= self.row_group_bytes:
            self._flush()

    def write_batch(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Write Arrow data already in the canonical schema (no Python round trip).

        Batches are gathered (zero-copy) until about `row_group_bytes`, then written as one row group.
        """
        self._flush()
        if batch.num_rows == 0:
            return
        if isinstance(batch, pa.RecordBatch):
            batch = pa.Table.from_batches([batch])
        self._pending.append(batch.replace_schema_metadata(self.schema.metadata))
        self._pending_bytes += batch.nbytes
        if self._pending_bytes >= self.row_group_bytes:
            self._flush_pending()

    def close(self) -> list[Path]:
        """Finish the last shard and give every shard its final name. A split with no rows gets no file."""
        self._flush()
        self._close_shard()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        final = []
        for i, path in enumerate(self._paths):
            target = path.with_name(shard_name(self.split, i, len(self._paths)))
            path.rename(target)
            final.append(target)
        self._paths = final
        return final

    # -- internals --------------------------------------------------------------------------------
    def _flush_pending(self) -> None:
        if self._pending:
            table = pa.concat_tables(self._pending)
            self._pending, self._pending_bytes = [], 0
            for part in _video_rows_apart(table):
                step = max(1, int(part.num_rows * self.row_group_bytes / max(1, part.nbytes)))
                for start in range(0, part.num_rows, step):
                    self._write_arrow(part.slice(start, step))

    def _flush(self) -> None:
        self._flush_pending()
        if not self._buffer:
            return
        table = pa.Table.from_pylist(self._buffer, schema=self.schema)
        self._buffer = []
        self._buffer_bytes = 0
        self._write_arrow(table)

    def _write_arrow(self, data: pa.RecordBatch | pa.Table) -> None:
        if self._writer is not None and self._shard_bytes >= self.max_shard_bytes:
            self._close_shard()
        if self._writer is None:
            path = self.out_dir / f".{self.split}-{len(self._paths):05d}.parquet.partial"
            self._paths.append(path)
            self._writer = pq.ParquetWriter(path, self.schema, compression="snappy")
            self._shard_bytes = 0
        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data], schema=self.schema)
        self._wait()  # one row group in flight: memory stays bounded
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="vlmdata-shards")
        self._inflight = self._pool.submit(
            self._writer.write_table, data, row_group_size=max(1, data.num_rows)
        )
        # Bytes are counted before compression: images barely compress, so shards land near the bound.
        self._shard_bytes += data.nbytes
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


def _record_bytes(record: dict) -> int:
    size = 256
    for key in MEDIA_LISTS:
        for item in record.get(key) or ():
            data = item.get("bytes") if isinstance(item, dict) else None
            size += len(data) if data else 64
    return size


def _video_rows_apart(table: pa.Table) -> Iterator[pa.Table]:
    """The table in slices: each row with a video alone, the rows between them together (zero-copy)."""
    if "videos" not in table.column_names:
        yield table
        return
    import numpy as np
    import pyarrow.compute as pc

    with_video = np.flatnonzero(pc.fill_null(pc.list_value_length(table["videos"]), 0).to_numpy() > 0)
    start = 0
    for row in with_video.tolist():
        if row > start:
            yield table.slice(start, row - start)
        yield table.slice(row, 1)
        start = row + 1
    if start < table.num_rows:
        yield table.slice(start)


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
