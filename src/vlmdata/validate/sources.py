"""dataset_info.json as LLaMA-Factory reads it: entries, their files, columns and tags.

    check_dataset_info(root, root / "dataset_info.json")
      -> ([InputFile(.../mllm_demo.json, fmt="sharegpt", columns=..., tags=...)], problems, skipped)

Unlike `inputs.discover`, which stops at the first bad entry, these list every problem and go on
with the entries that can be read.
"""

from __future__ import annotations

from pathlib import Path

from vlmdata.errors import Location, Problem, RecordError
from vlmdata.formats import sharegpt
from vlmdata.inputs import SUFFIXES, InputFile, load_json, split_of
from vlmdata.validate.schema import SchemaChecker

_HUB_KEYS = ("hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name")
_NEEDED_TAGS = ("role_tag", "content_tag", "user_tag", "assistant_tag")
LF_COLUMN_DEFAULTS = {"messages": "conversations", "images": None, "system": None, "tools": None}
LF_TAG_DEFAULTS = {
    "role_tag": "from",
    "content_tag": "value",
    "user_tag": "human",
    "assistant_tag": "gpt",
    "observation_tag": "observation",
    "function_tag": "function_call",
    "system_tag": "system",
}


def check_dataset_info(root: Path, info_path: Path) -> tuple[list[InputFile], list[Problem], list[str]]:
    file = str(info_path)
    try:
        info = load_json(info_path)
    except RecordError as exc:
        return [], [exc.problem], []
    problems = SchemaChecker("dataset_info").problems(info)
    for p in problems:
        p.where.file = file
    if not isinstance(info, dict):
        return [], problems, []
    files: list[InputFile] = []
    skipped: list[str] = []
    for name, entry in info.items():
        if not isinstance(entry, dict):
            continue  # the schema said so
        where = f"$.{name}"
        if "file_name" not in entry:
            if any(k in entry for k in _HUB_KEYS):
                skipped.append(f"{file} {where}: a Hub or remote dataset, nothing local to check")
            continue
        formatting = entry.get("formatting", "alpaca")
        if formatting != sharegpt.NAME:
            skipped.append(f"{file} {where}: formatting {formatting!r} is not checked (only sharegpt)")
            continue
        columns = entry.get("columns") if isinstance(entry.get("columns"), dict) else {}
        tags = entry.get("tags") if isinstance(entry.get("tags"), dict) else {}
        if "columns" in entry and not columns.get("messages"):
            problems.append(
                Problem(
                    "dataset-info",
                    "columns does not name the messages column (LLaMA-Factory then reads None)",
                    Location(file, path=f"{where}.columns.messages"),
                    "a column name",
                    "missing",
                    'add "messages": "<the column holding the turns>"',
                )
            )
        if tags:
            for tag in _NEEDED_TAGS:
                if not tags.get(tag):
                    problems.append(
                        Problem(
                            "dataset-info",
                            f"tags does not set {tag} (LLaMA-Factory then reads None)",
                            Location(file, path=f"{where}.tags.{tag}"),
                            "a tag",
                            "missing",
                            "list every tag once tags is given",
                        )
                    )
        file_name = entry.get("file_name")
        if not isinstance(file_name, str) or not file_name:
            continue
        target = root / file_name
        if not target.resolve().is_relative_to(root):
            problems.append(
                Problem(
                    "dataset-info",
                    "file_name points outside the dataset folder",
                    Location(file, path=where),
                    f"a path inside {root}",
                    file_name,
                    "move the file into the folder next to dataset_info.json",
                )
            )
            continue
        if not target.exists():
            problems.append(
                Problem(
                    "dataset-info",
                    "file_name points at a missing file",
                    Location(file, path=f"{where}.file_name"),
                    "an existing file or folder",
                    file_name,
                )
            )
            continue
        paths = sorted(p for p in target.iterdir() if p.suffix in SUFFIXES) if target.is_dir() else [target]
        for p in paths:
            if p.suffix not in SUFFIXES:
                problems.append(
                    Problem(
                        "dataset-info",
                        "file_name has a type vlmdata cannot read",
                        Location(file, path=f"{where}.file_name"),
                        ".json, .jsonl or .parquet",
                        p.suffix or "no suffix",
                    )
                )
                continue
            split = split_of(p.name) if split_of(p.name) != "train" else split_of(name.rsplit("_", 1)[-1])
            files.append(
                InputFile(
                    p, split, SUFFIXES[p.suffix], sharegpt.NAME, columns, tags, name, entry, lf_view(entry)
                )
            )
    return files, problems, skipped


def lf_view(entry: dict) -> tuple[dict, dict]:
    """The columns and tags LLaMA-Factory will use for an entry: its defaults when `columns`/`tags` is
    absent, and None for every key left out when it is present (DatasetAttr.set_attr)."""
    columns = entry.get("columns") if isinstance(entry.get("columns"), dict) else None
    tags = entry.get("tags") if isinstance(entry.get("tags"), dict) else None
    cols = {k: (columns.get(k) if columns is not None else LF_COLUMN_DEFAULTS[k]) for k in LF_COLUMN_DEFAULTS}
    return cols, {k: (tags.get(k) if tags is not None else v) for k, v in LF_TAG_DEFAULTS.items()}


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
