"""`vlmdata info`: what a dataset holds, computed with polars over per-record and per-image statistics.

    info("data/naruto") -> {
      "path": "data/naruto", "format": "parquet", "rows": {"train": 1221}, "records": 1221,
      "images": 1221, "images_per_record": {"0": 0, "1": 1221}, "turns": {"min": 2, "mean": 2.0, ...},
      "chars": {"user": {...}, "assistant": {...}},
      "image_size": {"width": {...}, "height": {...}, "formats": {"JPEG": 1221}, "bytes": 123456789},
    }

Image sizes come from each image's header (PIL reads it without decoding pixels), video durations, frame
rates, sizes (as displayed, after rotation) and codecs from each video's container header (vlmdata.videos):

    "videos": 3, "video": {"duration": {...}, "fps": {...}, "width": {...}, "height": {...},
                           "codecs": {"h264": 3}, "variable_fps": 1, "unreadable": 0, "bytes": 123456}
"""

from __future__ import annotations

import os
from array import array
from pathlib import Path

import pyarrow.parquet as pq

from vlmdata.convert import read_records
from vlmdata.images import size_of
from vlmdata.inputs import discover
from vlmdata.record import message_text
from vlmdata.shards import is_canonical


def _image_header(data: bytes | None, path: str | None) -> tuple[int, int, str, int]:
    try:
        if data is None:
            with open(path, "rb") as fh:
                data = fh.read()
        width, height, fmt = size_of(data)
        return width, height, fmt or "?", len(data)
    except (OSError, ValueError, SyntaxError):
        return -1, -1, "unreadable", len(data or b"")


class _Columns:
    """Per-record and per-image statistics as packed int64 columns: a few bytes a record, so `info` on
    millions of records stays small (image bytes are read one batch at a time and dropped)."""

    RECORD = ("images", "turns", "user_chars", "assistant_chars", "system")
    IMAGE = ("width", "height", "bytes")
    VIDEO = ("duration_ms", "fps_milli", "width", "height", "bytes")  # -1: the header cannot be read

    def __init__(self):
        self.records = {k: array("q") for k in self.RECORD}
        self.images = {k: array("q") for k in self.IMAGE}
        self.videos = {k: array("q") for k in self.VIDEO}
        self.splits: dict[str, int] = {}
        self.formats: dict[str, int] = {}
        self.codecs: dict[str, int] = {}
        self.variable = 0

    def add(self, split: str, messages: list[dict], images: list[dict], videos=()) -> None:
        chars = {"user": 0, "assistant": 0, "system": 0}
        for m in messages:
            chars[m["role"]] = chars.get(m["role"], 0) + len(message_text(m))
        values = (len(images), len(messages), chars["user"], chars["assistant"], int(chars["system"] > 0))
        for key, value in zip(self.RECORD, values, strict=True):
            self.records[key].append(value)
        self.splits[split] = self.splits.get(split, 0) + 1
        for im in images:
            width, height, kind, size = _image_header(im["bytes"], im["path"])
            for key, value in zip(self.IMAGE, (width, height, size), strict=True):
                self.images[key].append(value)
            self.formats[kind] = self.formats.get(kind, 0) + 1
        for v in videos:
            values, codec, variable = _video_header(v["bytes"], v["path"])
            for key, value in zip(self.VIDEO, values, strict=True):
                self.videos[key].append(value)
            self.codecs[codec] = self.codecs.get(codec, 0) + 1
            self.variable += variable


def _video_header(data, path: str | None) -> tuple[tuple, str, bool]:
    """((duration ms, fps x 1000, width, height, bytes), codec, variable frame rate) from the header."""
    from vlmdata import videos

    size = len(data) if data is not None else (os.path.getsize(path) if path and os.path.isfile(path) else 0)
    if not videos.available():
        return (-1, -1, -1, -1, size), "not read (PyAV missing)", False
    try:
        h = videos.probe(data if data is not None else path, max_pixels=None)
    except videos.VideoError:
        return (-1, -1, -1, -1, size), "unreadable", False
    values = (round(h.duration * 1000), round(h.fps * 1000), h.width, h.height, size)
    return values, h.codec, h.variable


def _collect(path: Path, fmt: str, media_dir) -> _Columns:
    """Statistics for any dataset, streamed."""
    dataset = discover(path)
    cols = _Columns()
    for f in dataset.files:
        if f.kind == "parquet" and is_canonical(f.path):
            pf = pq.ParquetFile(f.path, pre_buffer=False)
            columns = ["messages", "images"] + ["videos"] * ("videos" in pf.schema_arrow.names)
            for batch in pf.iter_batches(batch_size=64, columns=columns):
                for row in batch.to_pylist():
                    cols.add(f.split, row["messages"], row["images"], row.get("videos") or ())
            continue
        for _, _, rec in read_records(type(dataset)(dataset.root, [f]), fmt, media_dir):
            cols.add(f.split, rec["messages"], rec["images"], rec["videos"])
    return cols


def _describe(series) -> dict:
    if series.len() == 0:
        return {}
    return {
        "min": series.min(),
        "median": series.median(),
        "mean": round(series.mean(), 2),
        "p95": series.quantile(0.95, "nearest"),
        "max": series.max(),
    }


def info(path: str | Path, fmt: str = "auto", media_dir=None) -> dict:
    import numpy as np
    import polars as pl

    cols = _collect(Path(path), fmt, media_dir)

    def frame(columns: dict[str, array]) -> pl.DataFrame:
        return pl.DataFrame(
            {
                k: np.frombuffer(v, dtype=np.int64) if len(v) else np.zeros(0, np.int64)
                for k, v in columns.items()
            }
        )

    recs, imgs, vids = frame(cols.records), frame(cols.images), frame(cols.videos)
    read = vids.filter(pl.col("width") >= 0)
    per_count = recs.group_by("images").len().sort("images")
    readable = imgs.filter(pl.col("width") >= 0)
    return {
        "path": str(path),
        "records": recs.height,
        "rows": dict(sorted(cols.splits.items())),
        "images": imgs.height,
        "images_per_record": {
            str(k): v for k, v in zip(per_count["images"].to_list(), per_count["len"].to_list(), strict=True)
        },
        "with_system_turn": int(recs["system"].sum()),
        "turns": _describe(recs["turns"]),
        "chars": {"user": _describe(recs["user_chars"]), "assistant": _describe(recs["assistant_chars"])},
        "image_size": {
            "width": _describe(readable["width"]),
            "height": _describe(readable["height"]),
            "formats": dict(sorted(cols.formats.items())),
            "bytes": int(imgs["bytes"].sum()),
        },
        "videos": vids.height,
        "video": {
            "duration": _describe((read["duration_ms"] / 1000).round(3)),
            "fps": _describe((read["fps_milli"] / 1000).round(3)),
            "width": _describe(read["width"]),
            "height": _describe(read["height"]),
            "codecs": dict(sorted(cols.codecs.items())),
            "variable_fps": cols.variable,
            "unreadable": vids.height - read.height,
            "bytes": int(vids["bytes"].sum()),
        },
    }
