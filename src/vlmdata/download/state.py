"""Resumable downloads: each finished source file's rows are kept beside the output until the end.

    data/.naruto.download/
      plan.json                                  what is being downloaded (options, files, revision)
      u00003-train-00000-of-00001.parquet        canonical rows of source file 3 that go to train
      u00003-validation-00000-of-00001.parquet   ... and to validation (--val-ratio)
      u00003.json                                {"rows_read", "images", "counts", "skipped"}: written
                                                 last, so its presence means file 3 is done

A rerun of the same command (same plan) skips the finished files; a different plan starts over. When all
files are done their rows are merged, as Arrow batches in source order, into the output's shards, and
this folder is removed once the output folder is in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq

from vlmdata.atomic import atomic_write_text
from vlmdata.io import ShardWriter

SPLITS = ("train", "validation")


class Checkpoint:
    def __init__(self, out: str | os.PathLike, plan: dict, max_shard_bytes: int):
        out = Path(out)
        self.dir = out.parent / f".{out.name}.download"
        self.max_shard_bytes = max_shard_bytes
        fingerprint = hashlib.sha256(json.dumps(plan, sort_keys=True, default=str).encode()).hexdigest()
        plan_file = self.dir / "plan.json"
        if self.dir.exists() and _read_json(plan_file).get("fingerprint") != fingerprint:
            shutil.rmtree(self.dir)  # another download's leftovers: start over
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            plan_file, json.dumps({"fingerprint": fingerprint, "plan": plan}, default=str) + "\n"
        )
        self.done: dict[int, dict] = {}
        for meta in self.dir.glob("u*.json"):
            self.done[int(meta.stem[1:])] = _read_json(meta)
        for path in self.dir.iterdir():  # rows of files that were not finished
            if path.name != "plan.json" and _unit_of(path.name) not in self.done:
                path.unlink()

    def writers(self, unit: int) -> dict[str, ShardWriter]:
        return {s: ShardWriter(self.dir, f"u{unit:05d}-{s}", self.max_shard_bytes) for s in SPLITS}

    def finish(self, unit: int, writers: dict[str, ShardWriter], meta: dict) -> None:
        for writer in writers.values():
            writer.close()
        atomic_write_text(self.dir / f"u{unit:05d}.json", json.dumps(meta, ensure_ascii=False))
        self.done[unit] = meta

    def merge(self, split: str, writer: ShardWriter, bar=None) -> None:
        """Append every finished file's rows of `split`, in source order, without a Python round trip."""
        for path in sorted(self.dir.glob(f"u*-{split}-*.parquet")):
            for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
                writer.write_batch(batch)
                if bar is not None:
                    bar.advance(batch.num_rows, nbytes=batch.nbytes)

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _unit_of(name: str) -> int | None:
    name = name.lstrip(".")
    return int(name[1:6]) if name.startswith("u") and name[1:6].isdigit() else None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
