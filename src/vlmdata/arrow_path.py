"""Parquet to Parquet without moving image bytes through Python.

The records' text (ids, messages) goes through validate's checks and the format readers like any other
input, row by row; each row's images are memoryviews into the Arrow buffers (their headers are checked
without a copy), and the images column is written as it was read (only cast to the canonical type), so
image bytes are never copied into Python objects.

    read_rows(parquet_file) -> (rows whose images are memoryviews into Arrow, images ListArray) per batch
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from vlmdata.record import ARROW_SCHEMA, IMAGE_TYPE

IMAGES_TYPE = pa.list_(IMAGE_TYPE)
# Small read batches keep peak memory low and flat; the shard writer regroups them into large row groups.
BATCH_ROWS = 64


def embedded_images_column(schema: pa.Schema) -> str | None:
    """Name of a column holding a list of `{bytes, path}` images that can be cast to the canonical type."""
    for name in ("images", "image"):
        if name in schema.names:
            t = schema.field(name).type
            if (pa.types.is_list(t) or pa.types.is_large_list(t)) and pa.types.is_struct(t.value_type):
                fields = {f.name: f.type for f in t.value_type}
                if "bytes" in fields and (
                    pa.types.is_binary(fields["bytes"]) or pa.types.is_large_binary(fields["bytes"])
                ):
                    return name
    return None


def has_embedded_images(path: Path) -> bool:
    try:
        return embedded_images_column(pq.read_schema(path)) is not None
    except Exception:  # damaged file: the row reader reports it
        return False


def iter_batches(path: Path, rows: tuple[int, int] | None = None) -> Iterator[pa.RecordBatch]:
    """The file's batches, the next ones decoded in a thread while the caller works on this one.
    rows=(start, end), start a multiple of BATCH_ROWS: only the batches of those rows, the very batches
    the whole file's iteration gives (the Ray engine's unit of work)."""
    from vlmdata.io import prefetched

    if rows is not None:
        yield from _row_range(path, *rows)
        return
    yield from prefetched(lambda: pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=BATCH_ROWS))


def _row_range(path: Path, start: int, end: int) -> Iterator[pa.RecordBatch]:
    # The whole file's batches run on across row groups: read the groups that hold the rows, then cut
    # the same BATCH_ROWS-row batches out of them.
    pf = pq.ParquetFile(path, pre_buffer=False)
    groups, first, pos = [], 0, 0
    for g in range(pf.metadata.num_row_groups):
        n = pf.metadata.row_group(g).num_rows
        if pos + n > start and pos < end:
            first = pos if not groups else first
            groups.append(g)
        pos += n
    table = pf.read_row_groups(groups)
    for s in range(start, end, BATCH_ROWS):
        part = table.slice(s - first, min(BATCH_ROWS, end - s)).combine_chunks()
        yield part.to_batches()[0]


def row_ranges(path: Path, unit_bytes: int) -> list[tuple[int, int]]:
    """The file's rows in ranges of about `unit_bytes` (uncompressed), each a whole number of batches."""
    md = pq.ParquetFile(path).metadata
    per_row = max(
        1, sum(md.row_group(g).total_byte_size for g in range(md.num_row_groups)) // max(1, md.num_rows)
    )
    step = max(1, unit_bytes // per_row // BATCH_ROWS) * BATCH_ROWS
    return [(s, min(md.num_rows, s + step)) for s in range(0, md.num_rows, step)]


def read_rows(path: Path, rows: tuple[int, int] | None = None) -> Iterator[tuple[list[dict], pa.Array]]:
    """(rows, images) per batch: rows as dicts whose images are `{"bytes": memoryview | None, "path"}`
    views into the Arrow buffers (nothing copied), and the batch's images ListArray."""
    column = embedded_images_column(pq.read_schema(path))
    for batch in iter_batches(path, rows):
        yield rows_with_images(batch, column)


def rows_with_images(batch: pa.RecordBatch, column: str) -> tuple[list[dict], pa.Array]:
    images = batch.column(column)
    rows = batch.drop_columns([column]).to_pylist()
    views = image_views(images)
    for row, value in zip(rows, views, strict=True):
        row[column] = value
    return rows, images


def image_views(images: pa.Array) -> list[list[dict] | None]:
    """Per row, its images as {"bytes": memoryview | None, "path": str | None} (a null list: None)."""
    values = images.flatten()  # applies the list array's offset
    names = [f.name for f in values.type]
    children = dict(zip(names, values.flatten(), strict=True))  # StructArray.flatten applies its offset
    data = children["bytes"]
    paths = children["path"].cast(pa.string()).to_pylist() if "path" in children else [None] * len(values)
    width = pa.int64() if pa.types.is_large_binary(data.type) else pa.int32()
    _, offsets_buf, data_buf = data.buffers()
    offsets = pa.Array.from_buffers(width, len(data) + 1, [None, offsets_buf], offset=data.offset).to_pylist()
    buf = memoryview(data_buf).cast("B") if data_buf is not None else memoryview(b"")  # unsigned bytes
    nulls = data.is_null().to_pylist() if data.null_count else None
    flat = [
        {"bytes": None if nulls and nulls[i] else buf[offsets[i] : offsets[i + 1]], "path": paths[i]}
        for i in range(len(values))
    ]
    out: list[list[dict] | None] = []
    lengths = images.value_lengths().to_pylist()
    start = 0
    for n in lengths:
        if n is None:
            out.append(None)
            continue
        out.append(flat[start : start + n])
        start += n
    return out


def canonical_images(images: pa.Array) -> pa.Array:
    values = images.flatten()
    children = dict(zip([f.name for f in values.type], values.flatten(), strict=True))
    structs = pa.StructArray.from_arrays(
        [
            children["bytes"].cast(pa.binary()),
            children["path"].cast(pa.string()) if "path" in children else pa.nulls(len(values), pa.string()),
        ],
        fields=list(IMAGE_TYPE),
    )
    if images.offset or images.null_count:
        return pa.array(images.to_pylist(), IMAGES_TYPE)  # rare: sliced or null lists
    import pyarrow.compute as pc

    offsets = images.offsets.cast(pa.int32())
    if offsets[0].as_py():  # flatten() starts at the first offset: make the offsets start at 0 too
        offsets = pc.subtract(offsets, offsets[0])
    return pa.ListArray.from_arrays(offsets, structs)


def with_empty_media(batch: pa.RecordBatch) -> pa.Table:
    """A legacy canonical batch (no videos/audios columns) in the current schema."""
    empty = pa.array([[]] * batch.num_rows, IMAGES_TYPE)
    columns = {name: batch.column(name) for name in batch.schema.names}
    columns.update(videos=empty, audios=empty)
    return pa.Table.from_pydict({f.name: columns[f.name] for f in ARROW_SCHEMA}, schema=ARROW_SCHEMA)


def records_table(records: list[dict], images: pa.Array) -> pa.Table:
    """Canonical table from records whose images are placeholders plus the real images array."""
    columns = {
        "id": pa.array([r["id"] for r in records], pa.string()),
        "messages": pa.array([r["messages"] for r in records], ARROW_SCHEMA.field("messages").type),
        "images": images,
        "videos": pa.array([r["videos"] for r in records], IMAGES_TYPE),  # empty: such rows go the row path
        "audios": pa.array([r["audios"] for r in records], IMAGES_TYPE),
        "source": pa.array([r["source"] for r in records], pa.string()),
    }
    return pa.Table.from_pydict(columns, schema=ARROW_SCHEMA)
