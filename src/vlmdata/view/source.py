"""Random access to the records of any dataset the project reads, for the viewer.

    ds = ViewDataset.open("data/naruto")      # canonical Parquet folder, JSON/JSONL files, dataset_info.json
    len(ds) -> 1221
    ds.entries(0, 20) -> [Entry(pos=0, file="train-00000-of-00002.parquet", index=0, line=None,
                                record={"id": ..., "messages": [...], "images": [...], "source": ...},
                                raw=None, error=None), ...]
    ds.image(pos, k) -> {"bytes": b"\\x89PNG...", "path": "0001.png"}   (KeyError when there is none)

A record's position is its place in the whole dataset (files in discovery order, then the file's own
record index, the index `validate` reports). Canonical Parquet is read one row group at a time and only
the columns needed (text without image bytes for a page, the image column when an image is asked for);
a few row groups stay cached, so memory does not grow with the dataset. JSON and JSONL files are read
whole through `vlmdata.inputs.iter_raw` (as LLaMA-Factory and `datasets` read them) and converted
record by record with the format's own reader; Parquet files whose rows are in one of the JSON formats
are read by row group and converted the same way.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from vlmdata.errors import Problem, RecordError
from vlmdata.formats import FORMATS, detect_format, format_of
from vlmdata.formats.base import ReadContext
from vlmdata.inputs import InputFile, discover, iter_raw
from vlmdata.shards import is_canonical
from vlmdata.view.cache import LRU

TEXT_COLUMNS = ["id", "messages", "source"]
HEAD_ROWS = 200  # rows of a row group read on their own when a page needs only those


@dataclass
class Entry:
    """One record as the viewer shows it. `record` is canonical (None when the record cannot be read:
    then `raw` holds what the file has and `error` the reader's problem)."""

    pos: int
    file: str  # relative to the dataset folder
    split: str
    index: int  # record index inside the file, as validate reports it
    line: int | None
    record: dict | None
    raw: dict | None = None
    error: Problem | None = None


class _Reader:
    """One data file. Subclasses give `n` and `read(start, stop, images=False)` -> [(index, line, rec,
    raw, error)]; images=True: canonical images with their bytes (for token counting), else only paths
    may be filled (the page asks for each image separately)."""

    canonical = False

    def __init__(self, f: InputFile, root: Path):
        self.f = f
        self.root = root
        self.n = 0

    def image(self, index: int, k: int, key: str = "images") -> dict:
        rec = self.read(index, index + 1)[0][2]
        if rec is None:
            raise KeyError(k)
        return rec[key][k]


class _CanonicalParquet(_Reader):
    """Canonical shards: row groups read on demand, text and image columns separately."""

    canonical = True

    def __init__(self, f: InputFile, root: Path, cache: LRU):
        super().__init__(f, root)
        self.pf = pq.ParquetFile(f.path, pre_buffer=False)
        self.lock = threading.Lock()  # one ParquetFile handle, read by request threads
        self.starts = [0]
        for i in range(self.pf.metadata.num_row_groups):
            self.starts.append(self.starts[-1] + self.pf.metadata.row_group(i).num_rows)
        self.n = self.starts[-1]
        self.cache = cache

    def _group(self, rg: int, columns: list[str], head: bool = False):
        """A row group's columns, whole, or (head=True) only its first HEAD_ROWS rows: Parquet decodes
        pages in order, so the head of a row group costs a few pages instead of the whole chunk (the
        first page of a dataset is served from it)."""

        def make():
            with self.lock:
                if head:
                    batches = self.pf.iter_batches(
                        HEAD_ROWS, row_groups=[rg], columns=columns, use_threads=False
                    )
                    return pa.Table.from_batches([next(batches)])
                return self.pf.read_row_group(rg, columns=columns, use_threads=False)

        return self.cache.get((str(self.f.path), rg, tuple(columns), head), make)

    def _rows(self, start: int, stop: int, columns: list[str]) -> list[dict]:
        out: list[dict] = []
        rg = bisect.bisect_right(self.starts, start) - 1
        while start < stop and rg < len(self.starts) - 1:
            lo, hi = start - self.starts[rg], min(stop, self.starts[rg + 1]) - self.starts[rg]
            table = self._group(rg, columns, head=hi <= HEAD_ROWS)
            out.extend(table.slice(lo, hi - lo).to_pylist())
            start = self.starts[rg] + hi
            rg += 1
        return out

    def read(self, start: int, stop: int, images: bool = False):
        rows = self._rows(start, stop, TEXT_COLUMNS + ["images.list.element.path"])
        # the image column is its own cached read: the thumbnails of the same page reuse it
        stored = self._rows(start, stop, ["images"]) if images else None
        out = []
        for k, row in enumerate(rows):
            if stored is not None:
                row["images"] = stored[k]["images"]
            else:  # only the paths: the bytes are read when an image is asked for
                row["images"] = [{"bytes": None, "path": im["path"]} for im in row["images"] or ()]
            out.append((start + k, None, row, None, None))
        return out

    def image(self, index: int, k: int, key: str = "images") -> dict:
        (row,) = self._rows(index, index + 1, [key])
        images = row[key] or []
        if not 0 <= k < len(images) or images[k] is None:
            raise KeyError(k)
        return images[k]


def _read_context(f: InputFile, root: Path) -> ReadContext:
    """The context that locates a raw record and resolves its image paths, as convert.read_records does."""
    base = f.path.parent.resolve()
    return ReadContext(str(f.path), root, base, columns=f.columns, tags=f.tags)


class _RawRecords(_Reader):
    """Records in one of the JSON formats, converted with the format's reader when shown."""

    def __init__(self, f: InputFile, root: Path):
        super().__init__(f, root)
        self.fmt = f.fmt

    def _convert(self, index: int, line, raw: dict | None, error: Problem | None):
        if raw is None:
            return index, line, None, None, error
        ctx = _read_context(self.f, self.root)
        ctx.record, ctx.line = index, line
        try:
            fmt = self.fmt or format_of(raw, ctx)
            return index, line, FORMATS[fmt].to_canonical(raw, ctx), raw, None
        except RecordError as exc:
            return index, line, None, raw, exc.problem

    def _detect(self, raws) -> None:
        if self.fmt is None:
            for raw in raws[:1000]:
                if raw is not None and (name := detect_format(raw)):
                    self.fmt = name
                    return


class _JsonFile(_RawRecords):
    """A .json or .jsonl file, read whole; a line that is not JSON stays a record with its problem."""

    def __init__(self, f: InputFile, root: Path):
        super().__init__(f, root)
        items: list[tuple] = []  # (index, line, raw | None, problem | None)
        bad: list[Problem] = []
        expected = 0
        for index, line, raw in iter_raw(f, on_error=bad.append):
            for p in bad:  # bad lines take the indexes before this record (see iter_raw)
                items.append((expected, p.where.line, None, p))
                expected += 1
            bad.clear()
            items.append((index, line, raw, None))
            expected = index + 1
        for p in bad:
            items.append((expected, p.where.line, None, p))
            expected += 1
        self.items = items
        self.n = len(items)
        self._detect([it[2] for it in items])

    def read(self, start: int, stop: int, images: bool = False):
        return [self._convert(*self.items[i]) for i in range(start, min(stop, self.n))]

    def raws(self):
        for index, line, raw, _ in self.items:
            yield index, line, raw


class _RowParquet(_RawRecords):
    """A Parquet file whose rows are records in one of the JSON formats (e.g. an HF export)."""

    def __init__(self, f: InputFile, root: Path, cache: LRU):
        super().__init__(f, root)
        self.pf = pq.ParquetFile(f.path, pre_buffer=False)
        self.lock = threading.Lock()
        self.starts = [0]
        for i in range(self.pf.metadata.num_row_groups):
            self.starts.append(self.starts[-1] + self.pf.metadata.row_group(i).num_rows)
        self.n = self.starts[-1]
        self.cache = cache
        if self.n:
            self._detect([r for _, _, r, _, _ in self._rows(0, min(self.n, 50))])

    def _rows(self, start: int, stop: int):
        out = []
        rg = bisect.bisect_right(self.starts, start) - 1
        while start < stop and rg < len(self.starts) - 1:

            def make(rg=rg):
                with self.lock:
                    return self.pf.read_row_group(rg, use_threads=False)

            table = self.cache.get((str(self.f.path), rg), make)
            lo, hi = start - self.starts[rg], min(stop, self.starts[rg + 1]) - self.starts[rg]
            out.extend(
                (i, None, row, None, None)
                for i, row in enumerate(table.slice(lo, hi - lo).to_pylist(), start)
            )
            start = self.starts[rg] + hi
            rg += 1
        return out

    def read(self, start: int, stop: int, images: bool = False):
        return [self._convert(i, line, raw, None) for i, line, raw, _, _ in self._rows(start, stop)]

    def raws(self):
        for batch_start in range(0, self.n, 256):
            for index, line, raw, _, _ in self._rows(batch_start, min(self.n, batch_start + 256)):
                yield index, line, raw


class ViewDataset:
    """All files of a dataset behind one position -> record mapping."""

    def __init__(self, path: Path, root: Path, readers: list[_Reader]):
        self.path = path
        self.root = root
        self.readers = readers
        self.starts = [0]
        for r in readers:
            self.starts.append(self.starts[-1] + r.n)

    @classmethod
    def open(cls, path) -> ViewDataset:
        """Discover the files as every other command does (vlmdata.inputs.discover)."""
        dataset = discover(path)
        cache = LRU(6)  # row groups (or their heads) by columns: what a page and its thumbnails read
        readers: list[_Reader] = []
        for f in dataset.files:
            if f.kind == "parquet" and is_canonical(f.path):
                readers.append(_CanonicalParquet(f, dataset.root, cache))
            elif f.kind == "parquet":
                readers.append(_RowParquet(f, dataset.root, cache))
            else:
                readers.append(_JsonFile(f, dataset.root))
        return cls(Path(path), dataset.root, readers)

    def __len__(self) -> int:
        return self.starts[-1]

    def locate(self, pos: int) -> tuple[int, int]:
        """(reader number, index in its file); IndexError outside the dataset."""
        if not 0 <= pos < len(self):
            raise IndexError(pos)
        r = bisect.bisect_right(self.starts, pos) - 1
        return r, pos - self.starts[r]

    def position(self, reader: int, index: int) -> int:
        return self.starts[reader] + index

    def rel(self, reader: _Reader) -> str:
        path = reader.f.path.resolve()
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    def entries(self, positions, images: bool = False) -> list[Entry]:
        """Entries for the given positions (any order; consecutive runs are read together).
        images=True: records with their image bytes (what a token counter needs)."""
        out = []
        positions = list(positions)
        i = 0
        while i < len(positions):
            r, index = self.locate(positions[i])
            j = i + 1
            while (
                j < len(positions)
                and positions[j] == positions[j - 1] + 1
                and self.locate(positions[j])[0] == r
            ):
                j += 1
            reader = self.readers[r]
            for (idx, line, rec, raw, error), pos in zip(
                reader.read(index, index + (j - i), images), positions[i:j], strict=True
            ):
                out.append(Entry(pos, self.rel(reader), reader.f.split, idx, line, rec, raw, error))
            i = j
        return out

    def entry(self, pos: int, images: bool = False) -> Entry:
        return self.entries([pos], images)[0]

    def image(self, pos: int, k: int, key: str = "images") -> dict:
        """The k-th image (key="videos": video) of a record as `{"bytes", "path"}`; KeyError/IndexError
        when there is none."""
        r, index = self.locate(pos)
        if k < 0:
            raise KeyError(k)
        return self.readers[r].image(index, k, key)
