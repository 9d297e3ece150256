"""A data file of a dataset and where it sits: what `inputs.discover` and `read_dataset_info` find.

InputFile(path=Path(".../mllm_demo.json"), split="train", kind="json", fmt="sharegpt", columns={...})
split_of("validation-00000-of-00001.parquet") -> "validation"; split_of("data.jsonl") -> "train"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

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
    # LLaMA-Factory will use them (dataset_info.lf_view): LLaMA-Factory's own checks run then.
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
