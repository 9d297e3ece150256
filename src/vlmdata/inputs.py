"""Find the data files under an input path and stream their records, each with its location.

    discover("data/lf") -> Dataset(root=/abs/data/lf, files=[InputFile(path=.../mllm_demo.json,
                                   split="train", kind="json", fmt="sharegpt", columns=..., tags=...)])
    iter_raw(file) -> (index, line, raw dict) ...      # line is 1-based for JSONL, None otherwise

A folder is read as LLaMA-Factory reads it when it has a dataset_info.json (only the entries' files,
with their columns and tags); otherwise every top-level (and `data/`) .json, .jsonl and .parquet file.
The split comes from the file name: `train-00000-of-00002.parquet`, `validation.jsonl` -> validation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from vlmdata.errors import Location, Problem, RecordError, UsageError, json_type
from vlmdata.formats import sharegpt

SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".parquet": "parquet"}
METADATA_FILES = {"dataset_info.json", "manifest.json", "dataset_infos.json", "conversion_report.json"}
_SPLIT_RE = re.compile(r"^(train|validation|valid|val|dev|test|eval)(?=[-_.]|$)", re.I)
_SPLIT_NAMES = {"valid": "validation", "val": "validation", "dev": "validation", "eval": "validation"}


@dataclass
class InputFile:
    path: Path
    split: str
    kind: str  # json | jsonl | parquet
    fmt: str | None = None  # forced by dataset_info.json (sharegpt) or --format
    columns: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    # For a dataset_info.json entry: its name, the entry as written, and (columns, tags) as
    # LLaMA-Factory will use them (validate.sources.lf_view): LLaMA-Factory's own checks run then.
    entry: str | None = None
    raw_entry: dict | None = None
    lf: tuple[dict, dict] | None = None
    notes: list[str] = field(default_factory=list)  # what reading normalised ('{"data": [...]}' unwrapped)


@dataclass
class Dataset:
    root: Path
    files: list[InputFile]
    dataset_info: dict | None = None


def split_of(name: str) -> str:
    m = _SPLIT_RE.match(Path(name).name)
    if not m:
        return "train"
    word = m.group(1).lower()
    return _SPLIT_NAMES.get(word, word)


def discover(src: str | Path) -> Dataset:
    src = Path(src)
    if not src.exists():
        raise UsageError(f"input {src} does not exist")
    if src.is_file():
        kind = SUFFIXES.get(src.suffix.lower())
        if kind is None:
            raise UsageError(
                f"{src}: unsupported file type {src.suffix!r}; expected .json, .jsonl or .parquet"
            )
        return Dataset(src.parent.resolve(), [InputFile(src, split_of(src.name), kind)])
    root = src.resolve()
    info_path = src / "dataset_info.json"
    if info_path.exists():
        return _from_dataset_info(root, info_path)
    candidates = sorted(p for p in list(src.iterdir()) + sorted((src / "data").glob("*")) if p.is_file())
    files = [
        InputFile(p, split_of(p.name), SUFFIXES[p.suffix.lower()])
        for p in candidates
        if p.suffix.lower() in SUFFIXES and p.name not in METADATA_FILES and not p.name.startswith(".")
    ]
    if not files:
        raise UsageError(f"{src}: no .json, .jsonl or .parquet data files found")
    return Dataset(root, files)


def _from_dataset_info(root: Path, info_path: Path) -> Dataset:
    info = load_json(info_path)
    if not isinstance(info, dict):
        raise RecordError(
            Problem(
                "type",
                "dataset_info.json must be an object of entries",
                Location(str(info_path)),
                "object",
                json_type(info),
            )
        )
    files = []
    for name, entry in info.items():
        where = Location(str(info_path), path=f"$.{name}")
        if not isinstance(entry, dict) or "file_name" not in entry:
            if isinstance(entry, dict) and ("hf_hub_url" in entry or "ms_hub_url" in entry):
                continue  # a Hub dataset: nothing local to read
            raise RecordError(Problem("dataset-info", "entry has no file_name", where, "file_name", "none"))
        formatting = entry.get("formatting", "alpaca")
        if formatting != sharegpt.NAME:
            raise RecordError(
                Problem(
                    "dataset-info",
                    "only sharegpt entries can be read",
                    where,
                    "formatting: sharegpt",
                    formatting,
                )
            )
        target = root / entry["file_name"]
        if not target.resolve().is_relative_to(root):
            raise RecordError(
                Problem(
                    "dataset-info",
                    "file_name points outside the dataset folder",
                    where,
                    f"a path inside {root}",
                    entry["file_name"],
                    "move the file into the folder next to dataset_info.json",
                )
            )
        paths = sorted(p for p in target.iterdir() if p.suffix in SUFFIXES) if target.is_dir() else [target]
        for p in paths:
            if not p.exists():
                raise RecordError(
                    Problem(
                        "dataset-info",
                        "file_name points at a missing file",
                        where,
                        "an existing file",
                        entry["file_name"],
                    )
                )
            split = split_of(p.name) if split_of(p.name) != "train" else split_of(name.rsplit("_", 1)[-1])
            files.append(
                InputFile(
                    p,
                    split,
                    SUFFIXES.get(p.suffix, "json"),
                    sharegpt.NAME,
                    entry.get("columns") or {},
                    entry.get("tags") or {},
                )
            )
    return Dataset(root, files, info)


def _decode(data: bytes, path: Path, first_line: int = 1) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + first_line
        raise RecordError(
            Problem(
                "encoding",
                f"file is not UTF-8 (byte {exc.start})",
                Location(str(path), line=line),
                "UTF-8",
                f"invalid byte 0x{data[exc.start]:02x}",
                "re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
            )
        ) from None


def _json_error(exc: orjson.JSONDecodeError, path: Path, line_offset: int = 0, record=None) -> RecordError:
    line = (exc.lineno or 1) + line_offset
    return RecordError(
        Problem(
            "json",
            f"malformed JSON: {exc.msg} (column {exc.colno})",
            Location(str(path), record, line),
            "valid JSON",
            f"error at column {exc.colno}",
            "fix the JSON syntax at that line",
        )
    )


def load_json(path: Path):
    data = path.read_bytes()
    _decode(data, path)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _json_error(exc, path) from None


def iter_raw(
    f: InputFile, on_error=None, span: tuple[int, int] | None = None
) -> Iterator[tuple[int, int | None, dict]]:
    """Yield (record index, line or None, raw record) for one file; parse errors name line and column.

    By default the first bad JSONL line raises RecordError. With `on_error` (a callable taking a
    Problem), a bad line is passed to it and reading goes on with the next line (`validate` lists
    every bad line); the bad line still takes a record index, so indexes match the file's lines.
    span=(start, end): only the JSONL lines starting in that byte range (both at line starts), with
    lines and indexes counted from the range's start (validate.parallel adds the offsets).
    """
    if f.kind == "parquet":
        yield from _iter_parquet(f.path)
        return
    if f.kind == "jsonl":
        index = 0
        with open(f.path, "rb") as fh:
            lines = fh if span is None else _lines_in(fh, *span)
            for lineno, line in enumerate(lines, 1):
                try:  # the common case first: one JSON object per line
                    raw = orjson.loads(line)
                    if type(raw) is not dict:
                        raise RecordError(_not_object(raw, f.path, index, lineno))
                except (orjson.JSONDecodeError, RecordError) as exc:
                    if not line.strip():
                        continue  # blank lines are allowed
                    problem = (
                        exc.problem
                        if isinstance(exc, RecordError)
                        else _line_problem(line, f.path, lineno, index)
                    )
                    if on_error is None:
                        raise RecordError(problem) from None
                    on_error(problem)
                    index += 1
                    continue
                yield index, lineno, raw
                index += 1
        return
    data = load_json(f.path)
    if isinstance(data, dict):  # a single record, or {"data": [...]}
        lists = [(k, v) for k, v in data.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(data) == 1 and lists:
            note = f"records read from the list under {lists[0][0]!r}"
            if note not in f.notes:
                f.notes.append(note)
            data = lists[0][1]
        else:
            data = [data]
    if not isinstance(data, list):
        raise RecordError(
            Problem(
                "type",
                "JSON file must hold a list of records",
                Location(str(f.path)),
                "array",
                json_type(data),
            )
        )
    for index, raw in enumerate(data):
        if not isinstance(raw, dict) and on_error is not None:
            on_error(_not_object(raw, f.path, index, None))
            continue
        yield index, None, _must_be_object(raw, f.path, index, None)


def _lines_in(fh, start: int, end: int) -> Iterator[bytes]:
    fh.seek(start)
    pos = start
    for line in fh:
        if pos >= end:
            return
        pos += len(line)
        yield line


def _line_problem(line: bytes, path: Path, lineno: int, index: int) -> Problem:
    """Why a JSONL line does not parse: not UTF-8 (the byte), or the JSON error (line and column)."""
    try:
        if not line.isascii():
            _decode(line, path, lineno)
        orjson.loads(line)
    except RecordError as exc:
        return exc.problem
    except orjson.JSONDecodeError as exc:
        return _json_error(exc, path, lineno - 1, index).problem
    raise AssertionError("the line parsed the second time")  # pragma: no cover


def _not_object(raw, path: Path, index: int, line: int | None) -> Problem:
    return Problem(
        "type", "record must be a JSON object", Location(str(path), index, line), "object", json_type(raw)
    )


def _must_be_object(raw, path: Path, index: int, line: int | None) -> dict:
    if not isinstance(raw, dict):
        raise RecordError(_not_object(raw, path, index, line))
    return raw


def _iter_parquet(path: Path) -> Iterator[tuple[int, None, dict]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise RecordError(
            Problem(
                "parquet",
                f"cannot read Parquet file: {exc}",
                Location(str(path)),
                "a Parquet file",
                "unreadable",
            )
        ) from None
    index = 0
    for batch in pf.iter_batches(batch_size=256):
        for row in batch.to_pylist():
            yield index, None, row
            index += 1
