"""LLaMA-Factory's dataset_info.json, read once for every command: its entries, their files, columns and
tags, and every problem found on the way.

    read_dataset_info(root)
      -> DatasetInfo(info={...}, files=[InputFile(.../mllm_demo.json, fmt="sharegpt", columns=..., tags=...,
                     entry="mllm_demo", raw_entry={...}, lf=(columns, tags))], problems=[], skipped=[],
                     blocking=[])

`problems`: what `validate` reports about the entries (a missing file, a file outside the folder, a
column or tag left out); the JSON Schema problems are validate's own (vlmdata.validate.schema) and are
not in here. `blocking`: the subset that stops a reader (`inputs.discover`: info, view, download read
the first one as the error); `skipped`: entries nothing local is read from (Hub datasets, formattings
other than sharegpt).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vlmdata.datafile import InputFile, split_of
from vlmdata.errors import Location, Problem, RecordError, json_type
from vlmdata.formats import SUFFIXES, sharegpt, spelled_suffixes
from vlmdata.text import load_json

INFO_FILE = "dataset_info.json"
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


@dataclass
class DatasetInfo:
    info: object = None  # the parsed file (None when it cannot be read)
    files: list = field(default_factory=list)  # [InputFile]
    problems: list[Problem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    blocking: list[Problem] = field(default_factory=list)

    def problem(self, problem: Problem, blocking: bool = False) -> None:
        self.problems.append(problem)
        if blocking:
            self.blocking.append(problem)


def has_dataset_info(path: str | Path) -> bool:
    return Path(path).is_dir() and (Path(path) / INFO_FILE).exists()


def read_dataset_info(root: str | Path) -> DatasetInfo:
    """Every entry of `root/dataset_info.json`; the entries that can be read give files, every problem
    is listed (see the module docstring)."""
    info_path = Path(root) / INFO_FILE
    file = str(info_path)  # as the user named the folder, in messages
    root = Path(root).resolve()
    out = DatasetInfo()
    try:
        out.info = info = load_json(info_path)
    except RecordError as exc:
        out.problem(exc.problem, blocking=True)
        return out
    if not isinstance(info, dict):
        problem = Problem("type", "dataset_info.json must be an object of entries", Location(file), "object",
                          json_type(info))  # fmt: skip
        out.blocking.append(problem)  # validate reports the schema's problem instead
        return out
    for name, entry in info.items():
        if not isinstance(entry, dict):
            continue  # the schema says so
        where = f"$.{name}"
        if "file_name" not in entry:
            if any(k in entry for k in _HUB_KEYS):
                out.skipped.append(f"{file} {where}: a Hub or remote dataset, nothing local to check")
            continue
        formatting = entry.get("formatting", "alpaca")
        if formatting != sharegpt.NAME:
            out.skipped.append(f"{file} {where}: formatting {formatting!r} is not checked (only sharegpt)")
            continue
        columns = entry.get("columns") if isinstance(entry.get("columns"), dict) else {}
        tags = entry.get("tags") if isinstance(entry.get("tags"), dict) else {}
        _entry_problems(out, file, where, entry, columns, tags)
        file_name = entry.get("file_name")
        if not isinstance(file_name, str) or not file_name:
            continue
        target = root / file_name
        if not target.resolve().is_relative_to(root):
            out.problem(
                Problem(
                    "dataset-info",
                    "file_name points outside the dataset folder",
                    Location(file, path=where),
                    f"a path inside {root}",
                    file_name,
                    "move the file into the folder next to dataset_info.json",
                ),
                blocking=True,
            )
            continue
        if not target.exists():
            out.problem(
                Problem(
                    "dataset-info",
                    "file_name points at a missing file",
                    Location(file, path=f"{where}.file_name"),
                    "an existing file or folder",
                    file_name,
                ),
                blocking=True,
            )
            continue
        paths = sorted(p for p in target.iterdir() if p.suffix in SUFFIXES) if target.is_dir() else [target]
        for p in paths:
            if p.suffix not in SUFFIXES:
                out.problem(
                    Problem(
                        "dataset-info",
                        "file_name has a type vlmdata cannot read",
                        Location(file, path=f"{where}.file_name"),
                        spelled_suffixes(),
                        p.suffix or "no suffix",
                    ),
                    blocking=True,
                )
                continue
            split = split_of(p.name) if split_of(p.name) != "train" else split_of(name.rsplit("_", 1)[-1])
            out.files.append(
                InputFile(
                    p, split, SUFFIXES[p.suffix], sharegpt.NAME, columns, tags, name, entry, lf_view(entry)
                )
            )
    return out


def _entry_problems(out: DatasetInfo, file: str, where: str, entry: dict, columns: dict, tags: dict) -> None:
    """Columns and tags LLaMA-Factory would read as None (it still reads the records: not blocking)."""
    if "columns" in entry and not columns.get("messages"):
        out.problem(
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
                out.problem(
                    Problem(
                        "dataset-info",
                        f"tags does not set {tag} (LLaMA-Factory then reads None)",
                        Location(file, path=f"{where}.tags.{tag}"),
                        "a tag",
                        "missing",
                        "list every tag once tags is given",
                    )
                )


def lf_view(entry: dict) -> tuple[dict, dict]:
    """The columns and tags LLaMA-Factory will use for an entry: its defaults when `columns`/`tags` is
    absent, and None for every key left out when it is present (DatasetAttr.set_attr)."""
    columns = entry.get("columns") if isinstance(entry.get("columns"), dict) else None
    tags = entry.get("tags") if isinstance(entry.get("tags"), dict) else None
    cols = {k: (columns.get(k) if columns is not None else LF_COLUMN_DEFAULTS[k]) for k in LF_COLUMN_DEFAULTS}
    return cols, {k: (tags.get(k) if tags is not None else v) for k, v in LF_TAG_DEFAULTS.items()}
