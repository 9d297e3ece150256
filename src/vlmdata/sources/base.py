"""What every source shares: the options it reads, where it is loaded from, and how rows become records.

A source module defines a `Source` subclass. The driver (`vlmdata.download`) asks it for its configs,
loads each config's files through `datasets` (from the Hub, or from a local mirror laid out like the
repo), and hands it one raw row at a time with images undecoded:

    source.to_record({"image": {"bytes": b"\\xff\\xd8...", "path": None}, "text": "a man"}, RowRef(...))
      -> {"id": "naruto-train-00000-000003", "messages": [...], "images": [{"bytes": ..., "path": None}],
          "source": "lambdalabs/naruto-blip-captions"}

A source never decodes images and never materializes the dataset: rows arrive as Arrow batches.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from vlmdata.errors import UsageError


@dataclass
class SourceOptions:
    """The `download` options a source reads (the driver reads the rest)."""

    subsets: tuple[str, ...] = ()
    repo: str | None = None  # overrides the source's default repo (pokemon mirrors)
    prompt: str | None = None  # one fixed prompt for caption sources
    prompts_file: str | None = None  # a pool of prompts, one per line
    columns: dict[str, str] = field(default_factory=dict)  # generic: role -> column
    seed: int = 0


@dataclass
class RowRef:
    """Where a row sits in the source: config, split, file index in that split, row index in the file."""

    config: str | None
    split: str
    file_index: int
    row: int

    def id(self, prefix: str) -> str:
        return f"{prefix}-{self.split}-{self.file_index:05d}-{self.row:06d}"


# The SourceOptions fields a user sets with a flag, and that flag.
FLAGS = {
    "subsets": "--subset",
    "repo": "--repo",
    "prompt": "--prompt",
    "prompts_file": "--prompts-file",
    "columns": "--columns",
}


class Source:
    """Base class. Subclasses set NAME/REPO/READS and implement `to_record`."""

    NAME = ""
    REPO = ""
    DESCRIPTION = ""
    WHAT = ""  # how messages name the source, when not NAME
    READS: tuple[str, ...] = ("repo",)  # the FLAGS fields this source reads; any other given is refused

    def __init__(self, opts: SourceOptions):
        unread = [flag for name, flag in FLAGS.items() if getattr(opts, name) and name not in self.READS]
        if unread:
            takes = ", ".join(FLAGS[name] for name in self.READS) or "none of them"
            raise UsageError(
                f"{self.WHAT or self.NAME} does not use {', '.join(unread)}; drop it (of {', '.join(FLAGS.values())} "
                f"it takes: {takes})"
            )
        self.opts = opts
        self.repo = opts.repo or self.REPO

    def configs(self, available: list[str]) -> list[str | None]:
        """The configs to read. `available` are the repo's configs (empty when it has none)."""
        return [None]

    def asked_configs(self, available: list[str], unknown) -> list[str]:
        """The --subset values against the repo's configs: every config for `all`, else the asked ones in
        order, each once ([] when none is asked); an unknown one is a UsageError(unknown(names))."""
        asked = list(self.opts.subsets)
        if "all" in asked:
            return list(available)
        missing = [s for s in asked if s not in available]
        if missing:
            raise UsageError(unknown(missing))
        return list(dict.fromkeys(asked))

    def prepare(self, features) -> None:
        """Called with each config's `datasets.Features` before its rows: read label names, check columns."""

    def label(self, config: str | None) -> str:
        """The record's `source` field."""
        return self.repo

    def id_prefix(self, config: str | None) -> str:
        return config or self.NAME

    def to_record(self, row: dict, ref: RowRef) -> dict:
        raise NotImplementedError


def pick(pool: list[str], key: str, seed: int) -> str:
    """A deterministic choice from `pool` for one row: same seed and key, same choice, on any machine."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return pool[int.from_bytes(digest[:8], "big") % len(pool)]


def read_prompts(path: str) -> list[str]:
    """One prompt per non-empty line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read --prompts-file {path}: {exc.strerror}") from None
    prompts = [line.strip() for line in lines if line.strip()]
    if not prompts:
        raise UsageError(f"--prompts-file {path} has no prompts; write one prompt per line")
    return prompts
