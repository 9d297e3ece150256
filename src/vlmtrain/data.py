"""Layer 2 (data): canonical shards -> `datasets.Dataset`, image caps, and the pre-flight count and overlength
filter run before training.

load_split("data/naruto", "train")  -> Dataset({id, messages, images: [PIL.Image], source})
cap_images(record, max_pixels=50_176) -> same record, each image with w*h <= 50,176 (aspect kept)
preflight(args, dataset, processor, family, "train") -> the dataset to train on, with a `length` column
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from vlmtrain.errors import VlmTrainError
from vlmtrain.runfolder import DROPPED_NAME


def split_files(data_dir: str | Path, split: str) -> list[str]:
    return sorted(str(p) for p in Path(data_dir).glob(f"{split}-*.parquet"))


def load_split(data_dir: str | Path, split: str, max_samples: int | None = None):
    """Shards `<split>-*.parquet` -> Dataset; images decode to PIL through the shards' `huggingface` metadata."""
    from datasets import load_dataset

    from vlmtrain.tokens.shards import check_shards

    files = split_files(data_dir, split)
    if not files:
        raise VlmTrainError(f"{data_dir}: no {split}-*.parquet shards")
    check_shards(files)
    refuse_video_audio(files)
    ds = load_dataset("parquet", data_files={split: files}, split=split)
    if max_samples is not None and max_samples < len(ds):
        ds = ds.select(range(max_samples))
    return ds


def refuse_video_audio(files) -> None:
    """vlmdata carries videos and audios (the shards' `videos`/`audios` columns); vlmtrain does not train
    on them yet. Refuse, naming the first such record, instead of training on the text around them."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    for path in files:
        names = pq.read_schema(path).names
        media = [c for c in ("videos", "audios") if c in names]
        if not media:
            continue  # a shard from before vlmdata carried them
        table = pq.read_table(path, columns=["id", *media])
        for column in media:
            counts = pc.fill_null(pc.list_value_length(table.column(column)), 0)
            if pc.max(counts).as_py():
                rows = pc.indices_nonzero(counts).to_pylist()
                first = rows[0]
                raise VlmTrainError(
                    f"{path} record {first} (id {table.column('id')[first].as_py()}): has "
                    f"{counts[first].as_py()} {column[:-1]}(s) ({len(rows)} record(s) in this shard have "
                    f"{column}); vlmtrain does not train on video or audio yet. Drop those records, or train with "
                    "a tool that does (the sharegpt export keeps them for LLaMA-Factory)"
                )


def cap_image(image, max_pixels: int | None):
    """A PIL image with more than max_pixels pixels -> downscaled copy with the same aspect ratio."""
    if not max_pixels or image.width * image.height <= max_pixels:
        return image
    scale = math.sqrt(max_pixels / (image.width * image.height))
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    return image.resize(size)


def cap_images(record: dict[str, Any], max_pixels: int | None) -> dict[str, Any]:
    if not max_pixels or not record.get("images"):
        return record
    from vlmtrain.encoding.records import decode_images

    images = decode_images(record["images"], record.get("id"))
    return {**record, "images": [cap_image(im, max_pixels) for im in images]}


class CappedCollator:
    """Wraps a collator: caps every record's images to max_pixels before collating."""

    def __init__(self, collator, max_pixels: int | None):
        self.collator = collator
        self.max_pixels = max_pixels

    def __call__(self, records: list[dict]):
        return self.collator([cap_images(r, self.max_pixels) for r in records])


def dropped_notice(rows: list[dict], total: int, split: str, max_length: int, report: Path | None) -> str:
    where = f"; listed in {report}" if report is not None else ""
    return f"vlmtrain: dropped {len(rows)} of {total} {split} record(s) longer than max_length {max_length}{where}"


def filter_overlength(
    dataset,
    lengths: list[int],
    max_length: int | None,
    policy: str,
    report: Path | None,
    split: str,
):
    """Drop (and list) or refuse records longer than max_length. Never truncates: a cut through image
    tokens would leave fewer placeholders than image features and fail (or silently mis-train).

    Writes one JSON line per dropped record to `report`: {"split", "index", "id", "tokens", "max_length"};
    `dropped_notice` says so. Refuses when no record would be left.
    """
    if max_length is None:
        return dataset, []
    over = [i for i, n in enumerate(lengths) if n > max_length]
    rows = [
        {"split": split, "index": i, "id": dataset[i]["id"], "tokens": lengths[i], "max_length": max_length}
        for i in over
    ]
    if not over:
        return dataset, rows
    if policy == "error":
        shown = "\n".join(f"  - record {r['index']} id {r['id']!r}: {r['tokens']} tokens" for r in rows[:20])
        more = f"\n  ... and {len(rows) - 20} more" if len(rows) > 20 else ""
        raise VlmTrainError(
            f"{len(rows)} of {len(lengths)} {split} record(s) are longer than max_length {max_length} "
            f"(image tokens included); nothing was trained:\n{shown}{more}\n"
            "fix: raise max_length, lower max_pixels, or set on_overlength: drop"
        )
    if len(over) == len(lengths):  # said here, not in a report file of a run that never starts
        shortest = min(lengths)
        raise VlmTrainError(
            f"no {split} record fits in max_length {max_length}: all {len(lengths)} are longer (image tokens "
            f"included; the shortest has {shortest} tokens); nothing was trained\n"
            f"fix: raise max_length to at least {shortest}, or lower max_pixels"
        )
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        with report.open("a", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
    keep = sorted(set(range(len(lengths))) - set(over))
    return dataset.select(keep), rows


def preflight(config, dataset, processor, family, split: str = "train", notices: list[str] | None = None):
    """Exact tokens per record before training (`vlmtrain.tokens`, image expansion from the headers).

    Refuses to start when a record would break the collator (image/placeholder mismatch, unreadable
    image, no assistant turn), listing them all; records longer than max_length are dropped and listed in
    <output_dir>/dropped_overlength.jsonl, or stop the run (on_overlength: error). Never truncates.
    Returns the dataset to train on, with a `length` column (tokens per record) for length grouping;
    what was dropped is appended to `notices` (printed once every split has passed, so a notice never
    names a file of a run that was then refused).
    """
    from vlmtrain.tokens import preflight as count_tokens
    from vlmtrain.tokens.shards import iter_split

    if not config.token_check:
        return dataset
    max_length = config.max_length or sys.maxsize
    report = count_tokens(
        _first_records(iter_split(config.data_dir, split), len(dataset)),
        processor,
        family,
        max_length,
        config.per_device_train_batch_size,
        max_pixels=config.max_pixels,
        train_on_prompt=config.train_on_prompt,
    )
    if report.problems:
        shown = "\n".join("  - " + p.describe().replace("\n", "\n    ") for p in report.problems[:20])
        more = f"\n  ... and {len(report.problems) - 20} more" if len(report.problems) > 20 else ""
        raise VlmTrainError(
            f"{len(report.problems)} {split} record(s) would fail in the collator; nothing was trained:\n"
            f"{shown}{more}\nfix them (vlmdata validate lists them too) or set token_check: false to skip this check"
        )
    lengths = [0] * len(dataset)
    for c in report.counts:
        lengths[c.position] = c.length
    if "length" in dataset.column_names:
        dataset = dataset.remove_columns("length")
    dataset = dataset.add_column("length", lengths)
    if config.max_length is None:
        return dataset
    main = config.process_index == 0
    dropped = Path(config.output_dir) / DROPPED_NAME if main else None
    kept, rows = filter_overlength(dataset, lengths, config.max_length, config.on_overlength, dropped, split)
    if rows and notices is not None:
        notices.append(dropped_notice(rows, len(lengths), split, config.max_length, dropped))
    return kept


def _first_records(chunks, n: int):
    """(file, first, records) chunks of a split -> the same, stopping after n records (max_train_samples)."""
    left = n
    for file, first, records in chunks:
        if left <= 0:
            return
        yield file, first, records[:left]
        left -= len(records)
