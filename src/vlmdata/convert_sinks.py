"""Where `convert` writes one split: canonical Parquet shards, or one JSON/JSONL file through the target
format's `from_canonical` (its SUFFIX says which: .jsonl is one record per line, .json one list)."""

from __future__ import annotations

from pathlib import Path

import orjson

from vlmdata.formats.base import ImageStore, WriteContext
from vlmdata.io import ShardWriter, read_image_bytes
from vlmdata.record import MEDIA_LISTS

REPORT_FILE = "conversion_report.json"


class ParquetSink:
    def __init__(self, out: Path, split: str, max_shard_bytes: int):
        self.writer = ShardWriter(out, split, max_shard_bytes)

    def write(self, rec: dict) -> list[str]:
        rec = {**rec, **{key: [read_image_bytes(m) for m in rec.get(key) or ()] for key in MEDIA_LISTS}}
        self.writer.write(rec)
        return []

    media: set[str] = set()  # Parquet always has the videos and audios columns

    def close(self) -> list[str]:
        return [p.name for p in self.writer.close()]


class JsonSink:
    """One JSON (list) or JSONL file per split, streamed: memory does not grow with the dataset."""

    def __init__(self, out: Path, split: str, module, store: ImageStore, options: dict):
        self.name = f"{split}{module.SUFFIX}"
        self.fh = open(out / self.name, "wb")  # noqa: SIM115 - closed in close()
        self.jsonl = module.SUFFIX == ".jsonl"
        self.module = module
        self.ctx = WriteContext(out, store)
        self.options = options
        self.count = 0
        self.media: set[str] = set()  # the media columns ("videos", "audios") some record has
        if not self.jsonl:
            self.fh.write(b"[")

    def write(self, rec: dict) -> list[str]:
        raw, changes = self.module.from_canonical(rec, self.ctx, **self.options)
        self.media.update(key for key in ("videos", "audios") if rec.get(key))
        data = orjson.dumps(raw)
        if self.jsonl:
            self.fh.write(data + b"\n")
        else:
            self.fh.write((b"\n" if not self.count else b",\n") + data)
        self.count += 1
        return changes

    def close(self) -> list[str]:
        if not self.jsonl:
            self.fh.write(b"\n]\n")
        self.fh.close()
        return [self.name]


def make_sink(module, out: Path, split: str, store: ImageStore, max_shard_bytes: int, options: dict):
    if module.CANONICAL:
        return ParquetSink(out, split, max_shard_bytes)
    return JsonSink(out, split, module, store, options)
