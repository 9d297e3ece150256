"""What the filters and the summary need, per record, built in a background thread after the server starts.

    idx = DatasetIndex(ds, counter=None); idx.start()
    idx.status() -> {"records": 1000000, "indexed": 420000, "validated": False, "tokens": None, ...}
    idx.select(query="cat", source="naruto", images=1, turns=None, problems=True, over=False)
      -> numpy array of positions (ascending)
    idx.problems_of(pos) -> [Problem, ...]     # validate's own problems for that record

Per record it keeps a few small integers (images, turns, source code, problem flag, token count): about
12 bytes a record, preallocated once, so paging does not grow memory. The problems come from running
`vlmdata.validate.validate` itself on the dataset (the checks `vlmdata validate` runs, not a copy),
grouped by file and record. Text search scans the text columns (vectorized for canonical Parquet) and
keeps the last few answers.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import numpy as np
import pyarrow as pa

from vlmdata.errors import Problem
from vlmdata.view.source import ViewDataset, _CanonicalParquet

IMAGE_SIZE_SAMPLE = 5000  # images whose header is read for the size plot (evenly spread over the dataset)
_CHUNK = 4096


def _strings(value):
    """Every string inside a raw record (keys excluded): what a text search looks through."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


class DatasetIndex:
    def __init__(self, ds: ViewDataset, counter=None):
        n = len(ds)
        self.ds = ds
        self.counter = counter  # vlmdata.view.tokens.Counter or None
        self.n_images = np.full(n, -1, np.int16)
        self.turns = np.full(n, -1, np.int16)
        self.source = np.full(n, -1, np.int32)
        self.problem = np.zeros(n, np.bool_)
        self.tokens = np.full(n, -1, np.int32) if counter is not None else None
        self.sources: list[str] = []
        self._source_codes: dict[str, int] = {}
        self.indexed = 0
        self.validated = False
        self.finished = False
        self.counted = 0
        self.report = None  # the ValidationReport once validation finished
        self._problems: dict[tuple[int, int], list[Problem]] = {}  # (reader, index in file)
        self.file_problems: list[Problem] = []
        self.image_sizes: list[tuple[int, int]] = []
        self.image_sizes_sampled = False
        self.error: str | None = None
        self._searches: OrderedDict = OrderedDict()
        self._page_checks = None  # vlmdata.view.checks.PageChecks, made for the first page shown
        self._lock = threading.Lock()
        self.first_page = threading.Event()  # set once the first page was sent (see start)
        self._delay = 0.0
        self.thread = threading.Thread(target=self._run, name="vlmdata-view-index", daemon=True)

    def start(self, wait_for_first_page: float = 0.0) -> DatasetIndex:
        """Build in the background. wait_for_first_page: hold back up to that many seconds until the
        first page was sent, so that opening a big dataset is not slowed by the index (one GIL)."""
        self._delay = wait_for_first_page
        self.thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    # -- building -------------------------------------------------------------------------------------

    def _run(self) -> None:
        if self._delay:
            self.first_page.wait(self._delay)
        try:
            self._index_counts()
            self._sample_image_sizes()  # a few thousand headers: the summary's plots come early
            self._validate()
            if self.counter is not None:
                self._count_tokens()
        except Exception as exc:  # shown on the page; the records stay browsable
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.finished = True

    def _code(self, source: str | None) -> int:
        source = source or ""
        code = self._source_codes.get(source)
        if code is None:
            code = self._source_codes[source] = len(self.sources)
            self.sources.append(source)
        return code

    def _index_counts(self) -> None:
        import pyarrow.compute as pc  # here, not at import: the server starts sooner

        for r, reader in enumerate(self.ds.readers):
            base = self.ds.starts[r]
            if isinstance(reader, _CanonicalParquet):
                cols = ["source", "messages.list.element.role", "images.list.element.path"]
                for rg in range(len(reader.starts) - 1):
                    with reader.lock:
                        t = reader.pf.read_row_group(rg, columns=cols, use_threads=False)
                    lo, hi = base + reader.starts[rg], base + reader.starts[rg + 1]
                    self.turns[lo:hi] = pc.list_value_length(t.column("messages")).fill_null(0).to_numpy()
                    self.n_images[lo:hi] = pc.list_value_length(t.column("images")).fill_null(0).to_numpy()
                    enc = t.column("source").combine_chunks().dictionary_encode()
                    # the last code stands for a null source
                    codes = np.array([self._code(s) for s in [*enc.dictionary.to_pylist(), ""]], np.int32)
                    idx = enc.indices.fill_null(len(codes) - 1).to_numpy(zero_copy_only=False)
                    self.source[lo:hi] = codes[idx]
                    self.indexed = hi
                continue
            for start in range(0, reader.n, _CHUNK):
                for index, _, rec, raw, _ in reader.read(start, min(reader.n, start + _CHUNK)):
                    pos = base + index
                    if rec is not None:
                        self.n_images[pos] = len(rec["images"])
                        self.turns[pos] = len(rec["messages"])
                        self.source[pos] = self._code(rec.get("source"))
                    else:
                        self.source[pos] = self._code(raw.get("source") if isinstance(raw, dict) else None)
                self.indexed = base + min(reader.n, start + _CHUNK)
        self.indexed = len(self.ds)

    def _validate(self) -> None:
        from vlmdata.validate import validate

        report = validate(self.ds.path)
        files = {os.path.realpath(r.f.path): k for k, r in enumerate(self.ds.readers)}
        for p in report.problems:
            k = files.get(os.path.realpath(p.where.file)) if p.where.file else None
            if k is None or p.where.record is None or not 0 <= p.where.record < self.ds.readers[k].n:
                self.file_problems.append(p)
                continue
            self._problems.setdefault((k, p.where.record), []).append(p)
            self.problem[self.ds.position(k, p.where.record)] = True
        self.report = report
        self.validated = True

    def _sample_image_sizes(self) -> None:
        from vlmdata.view.images import image_size

        with_images = np.flatnonzero(self.n_images > 0)
        if not len(with_images):
            return
        step = max(1, len(with_images) // IMAGE_SIZE_SAMPLE)
        sizes = []
        for pos in with_images[::step][:IMAGE_SIZE_SAMPLE]:
            try:
                size = image_size(self.ds.image(int(pos), 0))
            except (KeyError, IndexError, OSError):
                continue
            if size is not None:
                sizes.append(size)
        self.image_sizes = sizes
        self.image_sizes_sampled = step > 1

    def _count_tokens(self) -> None:
        n = len(self.ds)
        for start in range(0, n, 256):
            positions = list(range(start, min(n, start + 256)))
            entries = [e for e in self.ds.entries(positions, images=True) if e.record is not None]
            lengths, problems = self.counter.lengths([e.record for e in entries])
            for k, (e, length) in enumerate(zip(entries, lengths, strict=True)):
                self.tokens[e.pos] = length
                if k in problems:  # records training would refuse: shown with validate's problems
                    self._problems.setdefault(self.ds.locate(e.pos), []).extend(problems[k])
                    self.problem[e.pos] = True
            self.counted = positions[-1] + 1

    # -- answering ------------------------------------------------------------------------------------

    def problems_of(self, pos: int) -> list[Problem]:
        r, index = self.ds.locate(pos)
        return self._problems.get((r, index), [])

    def problems_for(self, entries) -> dict[int, tuple[list[Problem] | None, bool]]:
        """{position: (problems, final)} for the shown records: validate's report once it is done
        (final), before that the same per-record checks run on just these records."""
        if self.validated:
            return {e.pos: (self.problems_of(e.pos), True) for e in entries}
        with self._lock:
            if self._page_checks is None:
                from vlmdata.view.checks import PageChecks

                self._page_checks = PageChecks(self.ds)
        full = self.ds.entries([e.pos for e in entries], images=True)  # headers are checked too
        return {e.pos: (self._page_checks.problems(e), False) for e in full}

    def status(self) -> dict:
        return {
            "records": len(self.ds),
            "indexed": int(self.indexed),
            "validated": self.validated,
            "counted": self.counted if self.counter is not None else None,
            "done": self.finished,
            "error": self.error,
        }

    def select(self, query="", source=None, images=None, turns=None, problems=None, over=None) -> np.ndarray:
        """Positions matching every given filter, ascending. None means "any"."""
        keep = np.ones(len(self.ds), np.bool_)
        if source is not None:
            code = self._source_codes.get(source)
            keep &= self.source == (code if code is not None else -2)
        if images is not None:
            keep &= self.n_images == images
        if turns is not None:
            keep &= self.turns == turns
        if problems is not None:
            keep &= self.problem == bool(problems)
        if over is not None and self.tokens is not None and self.counter.max_length:
            keep &= (self.tokens > self.counter.max_length) == bool(over)
        if query:
            hits = np.zeros(len(self.ds), np.bool_)
            hits[self.search(query)] = True
            keep &= hits
        return np.flatnonzero(keep)

    def search(self, query: str) -> np.ndarray:
        """Positions whose id or text contains `query` (case-insensitive)."""
        key = query.lower()
        with self._lock:
            if key in self._searches:
                self._searches.move_to_end(key)
                return self._searches[key]
        found = [self._search_reader(r, reader, key) for r, reader in enumerate(self.ds.readers)]
        result = np.concatenate(found) if found else np.zeros(0, np.int64)
        with self._lock:
            self._searches[key] = result
            while len(self._searches) > 8:
                self._searches.popitem(last=False)
        return result

    def _search_reader(self, r: int, reader, key: str) -> np.ndarray:
        base = self.ds.starts[r]
        hits: list[np.ndarray] = []
        if isinstance(reader, _CanonicalParquet):
            cols = ["id", "messages.list.element.content.list.element.text"]
            for rg in range(len(reader.starts) - 1):
                with reader.lock:
                    t = reader.pf.read_row_group(rg, columns=cols, use_threads=False)
                rows = _text_hits(t, key)
                hits.append(rows + base + reader.starts[rg])
        else:
            rows = [
                index
                for index, _, raw in reader.raws()
                if raw is not None and any(key in s.lower() for s in _strings(raw))
            ]
            hits.append(np.asarray(rows, np.int64) + base)
        return np.unique(np.concatenate(hits)) if hits else np.zeros(0, np.int64)


def _text_hits(table: pa.Table, key: str) -> np.ndarray:
    """Rows of a canonical row group whose id or any text part contains `key` (vectorized)."""
    import pyarrow.compute as pc

    ids = table.column("id").combine_chunks()
    rows = [
        np.flatnonzero(
            pc.match_substring(ids, key, ignore_case=True).fill_null(False).to_numpy(zero_copy_only=False)
        )
    ]
    messages = table.column("messages").combine_chunks()
    if len(messages):
        msg_row = pc.list_parent_indices(messages).to_numpy()
        content = pc.struct_field(pc.list_flatten(messages), "content")
        part_msg = pc.list_parent_indices(content).to_numpy()
        texts = pc.struct_field(pc.list_flatten(content), "text")
        found = np.flatnonzero(
            pc.match_substring(texts, key, ignore_case=True).fill_null(False).to_numpy(zero_copy_only=False)
        )
        rows.append(msg_row[part_msg[found]])
    return np.unique(np.concatenate(rows)).astype(np.int64)
