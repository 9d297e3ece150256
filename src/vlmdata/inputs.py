"""Find the data files under an input path and stream their records, each with its location.

    discover("data/lf") -> Dataset(root=/abs/data/lf, files=[InputFile(path=.../mllm_demo.json,
                                   split="train", kind="json", fmt="sharegpt", columns=..., tags=...)])
    iter_raw(file) -> (index, line, raw dict) ...      # line is 1-based for JSONL, None otherwise

A folder is read as LLaMA-Factory reads it when it has a dataset_info.json (only the entries' files,
with their columns and tags); otherwise every top-level (and `data/`) .json, .jsonl and .parquet file.
The split comes from the file name: `train-00000-of-00002.parquet`, `validation.jsonl` -> validation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from vlmdata.datafile import Dataset, InputFile, split_of
from vlmdata.dataset_info import INFO_FILE, has_dataset_info, read_dataset_info
from vlmdata.errors import Location, Problem, RecordError, UsageError, json_type
from vlmdata.formats import SUFFIXES, spelled_suffixes
from vlmdata.text import line_problem, load_json

METADATA_FILES = {INFO_FILE, "manifest.json", "dataset_infos.json", "conversion_report.json"}


def discover(src: str | Path) -> Dataset:
    src = Path(src)
    if not src.exists():
        raise UsageError(f"input {src} does not exist")
    if src.is_file():
        kind = SUFFIXES.get(src.suffix.lower())
        if kind is None:
            raise UsageError(f"{src}: unsupported file type {src.suffix!r}; expected {spelled_suffixes()}")
        return Dataset(src.parent.resolve(), [InputFile(src, split_of(src.name), kind)])
    root = src.resolve()
    if has_dataset_info(src):
        read = read_dataset_info(root)
        if read.blocking:  # the entries' own problems (columns, tags) are validate's to report
            raise RecordError(read.blocking[0])
        return Dataset(root, read.files, read.info)
    candidates = sorted(p for p in list(src.iterdir()) + sorted((src / "data").glob("*")) if p.is_file())
    files = [
        InputFile(p, split_of(p.name), SUFFIXES[p.suffix.lower()])
        for p in candidates
        if p.suffix.lower() in SUFFIXES and p.name not in METADATA_FILES and not p.name.startswith(".")
    ]
    if not files:
        raise UsageError(f"{src}: no {spelled_suffixes(' or ')} data files found")
    return Dataset(root, files)


def iter_raw(
    f: InputFile, on_error=None, span: tuple[int, int] | None = None, start: tuple[int, int] = (0, 0)
) -> Iterator[tuple[int, int | None, dict]]:
    """Yield (record index, line or None, raw record) for one file; parse errors name line and column.

    By default the first bad JSONL line raises RecordError. With `on_error` (a callable taking a
    Problem), a bad line is passed to it and reading goes on with the next line (`validate` lists
    every bad line); the bad line still takes a record index, so indexes match the file's lines.
    span=(start, end): only the JSONL lines starting in that byte range (both at line starts), with
    lines and indexes counted from the range's start (validate.parallel adds the offsets), or from
    start=(records, lines): the records and lines before the range (the Ray engine knows them).
    """
    if f.kind == "parquet":
        yield from _iter_parquet(f.path)
        return
    if f.kind == "jsonl":
        index = start[0]
        with open(f.path, "rb") as fh:
            lines = fh if span is None else _lines_in(fh, *span)
            for lineno, line in enumerate(lines, start[1] + 1):
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
                        else line_problem(line, f.path, lineno, index)
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
