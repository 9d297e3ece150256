"""dataset_info.json as validate checks it: the entries as `vlmdata.dataset_info` reads them (the one
reader), plus the file's JSON Schema and the columns LLaMA-Factory would find in no record.

    check_dataset_info(root) -> ([InputFile(.../mllm_demo.json, fmt="sharegpt", ...)], problems, skipped)
    column_problems(f, info_path, seen_keys, records) -> [Problem, ...]
"""

from __future__ import annotations

from pathlib import Path

from vlmdata.datafile import InputFile
from vlmdata.dataset_info import read_dataset_info
from vlmdata.errors import Location, Problem
from vlmdata.validate.schema import SchemaChecker


def check_dataset_info(root: Path) -> tuple[list[InputFile], list[Problem], list[str]]:
    """Every problem of root/dataset_info.json (schema first, then the entries'), and the files of the
    entries that can be read."""
    read = read_dataset_info(root)
    problems = [] if read.info is None else SchemaChecker("dataset_info").problems(read.info)
    for p in problems:
        p.where.file = str(Path(root) / "dataset_info.json")
    return read.files, problems + read.problems, read.skipped


def column_problems(f: InputFile, info_path: Path, seen: set, records: int) -> list[Problem]:
    """Columns LLaMA-Factory will read for this entry that no record of its file has, and images it
    would drop because `columns` does not name them (without `columns` it reads no images at all)."""
    problems = []
    entry = f.entry
    columns, _ = f.lf
    given = "columns" in f.raw_entry
    for key, column in columns.items():
        if isinstance(column, str) and column and column not in seen and records:
            problems.append(
                Problem(
                    "dataset-info",
                    f"column {column!r} is in no record of {f.path.name}"
                    + ("" if given else f" (LLaMA-Factory's default for {key}: the entry has no columns)"),
                    Location(str(info_path), path=f"$.{entry}.columns.{key}"),
                    f"records with a {column!r} key",
                    f"none of {records} record(s)",
                    "fix the column name in dataset_info.json"
                    if given
                    else f'add "columns": {{"{key}": ...}}',
                )
            )
    if not columns.get("images") and "images" in seen:
        problems.append(
            Problem(
                "dataset-info",
                "records have images but columns does not name the images column: LLaMA-Factory drops them",
                Location(str(info_path), path=f"$.{entry}.columns.images"),
                '"images": "images"',
                "missing",
                "add the images column to columns",
            )
        )
    return problems
