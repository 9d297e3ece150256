"""What `vlmdata download` is asked (DownloadOptions: also the resume fingerprint and the manifest's
options) and what it returns (DownloadReport, with the notices the CLI shows).

    DownloadOptions("naruto", "data/naruto", num_train_samples=100)
    DownloadReport(out="data/naruto", repo="lambdalabs/naruto-blip-captions", loaded_from="hub",
                   rows={"train": 100}, notices=["Resuming: 3 of 8 source file(s) were already done."])
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vlmdata.errors import UsageError
from vlmdata.formats import parquet
from vlmdata.io import DEFAULT_MAX_SHARD_BYTES

MANIFEST = "manifest.json"


@dataclass
class DownloadOptions:
    source: str
    out: str
    subsets: tuple[str, ...] = ()
    split: str = "train"
    num_train_samples: int | None = None  # per config (per the_cauldron subset): the first N rows
    num_val_samples: int | None = None
    val_ratio: float = 0.0  # only when the source has no validation split
    seed: int = 0
    revision: str | None = None
    streaming: bool = False
    num_proc: int | None = None
    shard: tuple[int, int] | None = None  # (i, N)
    format: str = parquet.NAME
    allow_lossy: bool = False  # JSON formats that can't express a record (see vlmdata.convert)
    skip_invalid: bool = False  # write the valid rows, list the others (default: a bad row stops the run)
    hub_mirror: str | None = None
    repo: str | None = None
    prompt: str | None = None
    prompts_file: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    cache_dir: str | None = None
    overwrite: bool = False
    quiet: bool = True
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES


@dataclass
class DownloadReport:
    out: str
    repo: str
    loaded_from: str
    rows: dict[str, int] = field(default_factory=dict)
    rows_read: int = 0
    images: int = 0
    skipped: list[dict] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # said to the user (the CLI prints them)


def parse_shard(text: str) -> tuple[int, int]:
    """ "2/8" -> (2, 8)"""
    i, sep, n = text.partition("/")
    if sep and i.isdigit() and n.isdigit() and 0 <= int(i) < int(n):
        return int(i), int(n)
    raise UsageError(f"bad --shard {text!r}: write i/N with 0 <= i < N, e.g. --shard 0/8")
