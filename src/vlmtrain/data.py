"""Layer 2 (data): canonical shards -> `datasets.Dataset` (read once, through `vlmdata.shards`), the
images of a batch decoded once, and the pre-flight count and overlength filter run before training.

    load_split("data/naruto", "train")  -> Dataset({id, messages, images: [{"bytes", "path"}], source})
    dataset_chunks(dataset)             -> (position of the first, [record, ...]) per batch of its rows
    decode_record(record, max_pixels=50_176) -> same record, images RGB PIL with w*h <= 50,176 (aspect kept)
    preflight(args, dataset, processor, family, "train") -> the dataset to train on, with a `length` column
    iter_split("data/naruto", "train")  -> (file, first index in file, [record, ...]) streamed (`vlmtrain check`)

One read, one decode: the split's shards are loaded once with images left as {bytes, path} structs;
preflight and `sampling.record_lengths` count from that dataset's own rows (image sizes from headers),
and the training collator (`CappedCollator`, `packing.PackedCollator`) decodes each image once per
sample (PIL open, EXIF orientation, RGB: `encoding.records.decode_images`, as `datasets` decodes it),
caps it, and hands the family the decoded images, which `Family.encode_one` uses as they are.
Which files make a split is `vlmdata.shards`' one rule, for `run` and `check` alike.
"""

from __future__ import annotations

import json
import math
import sys
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vlmdata import shards
from vlmtrain.errors import ConfigError, VlmTrainError
from vlmtrain.runfolder import DROPPED_NAME

COLUMNS = ["id", "messages", "images"]  # what counting reads
MEDIA_COLUMNS = [
    "videos"
]  # read too where the shards have them (shards from before vlmdata carried videos do not)
BATCH_ROWS = 512


@contextmanager
def shard_errors() -> Iterator[None]:
    """`vlmdata.shards`' errors as vlmtrain's (the same message, naming the folder or file)."""
    try:
        yield
    except shards.ShardError as exc:
        raise VlmTrainError(str(exc)) from None


def split_files(data_dir: str | Path, split: str) -> list[Path]:
    """The split's shard files (`vlmdata.shards.split_files`); a ConfigError (exit 2) naming the fix when
    the folder or the split is missing."""
    root = Path(data_dir)
    if not root.is_dir():
        raise ConfigError([f"data_dir {str(root)!r} is not a folder"], source="data")
    files = shards.split_files(root, split)
    if not files:
        raise ConfigError(
            [
                f"{root}: no '{split}-*.parquet' shards; pick a split that exists (--split) or convert the "
                "data with `vlmdata download`/`vlmdata convert`"
            ],
            source="data",
        )
    return files


def iter_split(
    data_dir, split: str = "train", batch_size: int = BATCH_ROWS
) -> Iterator[tuple[str, int, list]]:
    """The split's records streamed from its shards, images left undecoded: (file, first index in that
    file, [record, ...]) per batch, only the columns counting needs (what `vlmtrain check` counts, without
    building a dataset). The same files `load_split` reads."""
    files = split_files(data_dir, split)
    columns = COLUMNS + [c for c in MEDIA_COLUMNS if c in _column_names(files[0])]
    with shard_errors():
        yield from shards.iter_split(data_dir, split, columns=columns, batch_size=batch_size)


def _column_names(path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path).names
    except Exception:  # an unreadable shard: shards.iter_split names it
        return []


def load_split(data_dir: str | Path, split: str, max_samples: int | None = None, decode: bool = False):
    """The split's shards -> one Dataset, read once. decode=False (training, predict): images stay
    {"bytes", "path"} structs, decoded by the collator; decode=True: PIL images (datasets' Image feature),
    for callers that hand the rows to other code."""
    with shard_errors():
        files = shards.require_split(data_dir, split)
        shards.check_shards(files)
        ds = shards.load_split(data_dir, split, decode=decode, files=files)
    refuse_video_audio(ds, files)
    if max_samples is not None and max_samples < len(ds):
        ds = ds.select(range(max_samples))
    return ds


def dataset_chunks(
    dataset, batch_size: int = BATCH_ROWS, columns=(*COLUMNS, *MEDIA_COLUMNS)
) -> Iterator[tuple[int, list[dict]]]:
    """(position of the first, [record, ...]) over a dataset's rows in order, read from its Arrow table:
    images stay {"bytes", "path"} whatever its Image feature says, and memory stays at one batch."""
    table = dataset.select_columns([c for c in columns if c in dataset.column_names]).with_format("arrow")
    for start in range(0, len(table), batch_size):
        yield start, table[start : start + batch_size].to_pylist()


def shard_bounds(files) -> list[tuple[str, int, int]]:
    """(file, position of its first row in the split, rows) per shard, from the Parquet footers."""
    import pyarrow.parquet as pq

    bounds, position = [], 0
    for path in files:
        rows = pq.read_metadata(path).num_rows
        bounds.append((str(path), position, rows))
        position += rows
    return bounds


def located(chunks, bounds) -> Iterator[tuple[str | None, int, list[dict]]]:
    """(position, records) chunks of a split's rows (the split's first rows, in order) -> (file, index of the
    first in that file, records), cut at shard boundaries, so a count names the file and record as
    `vlmtrain check` does. Without bounds: (None, position, records)."""
    starts = [b[1] for b in bounds]
    for position, records in chunks:
        done = 0
        while done < len(records):
            at = position + done
            k = bisect_right(starts, at) - 1
            if k < 0 or at >= starts[k] + bounds[k][2]:  # not a prefix of these shards: positions only
                yield None, at, records[done:]
                break
            file, first, rows = bounds[k]
            take = min(len(records) - done, first + rows - at)
            yield file, at - first, records[done : done + take]
            done += take


def refuse_video_audio(dataset, files) -> None:
    """vlmdata carries videos and audios (the shards' `videos`/`audios` columns); vlmtrain does not train
    on audio yet. Refuse, naming the first such record, instead of training on the text around it. Videos
    pass: the family trains on them or refuses the record by name (`Family.refuse_parts`), in `vlmtrain
    check` and the run's pre-flight count alike.
    Read from the dataset's own Arrow table (no second read of the shards)."""
    import pyarrow.compute as pc

    media = [c for c in ("audios",) if c in dataset.column_names]
    if not media:
        return  # shards from before vlmdata carried them
    table = dataset.with_format("arrow")
    for path, first, rows in shard_bounds(files):
        part = table[first : first + rows]
        for column in media:
            counts = pc.fill_null(pc.list_value_length(part.column(column)), 0)
            if not rows or not pc.max(counts).as_py():
                continue
            found = pc.indices_nonzero(counts).to_pylist()
            k = found[0]
            raise VlmTrainError(
                f"{path} record {k} (id {part.column('id')[k].as_py()}): has "
                f"{counts[k].as_py()} {column[:-1]}(s) ({len(found)} record(s) in this shard have "
                f"{column}); vlmtrain does not train on audio yet. Drop those records, or train with "
                "a tool that does (the sharegpt export keeps them for LLaMA-Factory)"
            )


def cap_image(image, max_pixels: int | None):
    """A PIL image with more than max_pixels pixels -> downscaled copy with the same aspect ratio."""
    if not max_pixels or image.width * image.height <= max_pixels:
        return image
    scale = math.sqrt(max_pixels / (image.width * image.height))
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    return image.resize(size)


def decode_record(record: dict[str, Any], max_pixels: int | None) -> dict[str, Any]:
    """The record with its images decoded once ({bytes, path} -> RGB PIL, EXIF orientation applied) and
    capped to max_pixels; what the family's encode_one then takes as it is."""
    if not record.get("images"):
        return record
    from vlmtrain.encoding.records import decode_images

    images = decode_images(record["images"], record.get("id"))
    return {**record, "images": [cap_image(im, max_pixels) for im in images]}


class CappedCollator:
    """Wraps a collator (the run's): decodes every record's images once and caps them (`decode_record`)
    before collating."""

    def __init__(self, collator, max_pixels: int | None):
        self.collator = collator
        self.max_pixels = max_pixels

    def __call__(self, records: list[dict]):
        return self.collator([decode_record(r, self.max_pixels) for r in records])


def training_collator(args, processor, family, keep_vision: bool = False) -> CappedCollator:
    """The collator `vlmtrain run` trains with: each record's images decoded once and capped to
    args.max_pixels, then encoded and padded by the family (`VLMCollator`); keep_vision for sharded runs."""
    from vlmtrain.collator import VLMCollator

    return CappedCollator(
        VLMCollator(
            processor,
            family,
            max_length=args.max_length,
            train_on_prompt=args.train_on_prompt,
            keep_vision=keep_vision,
        ),
        args.max_pixels,
    )


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

    if not config.token_check:
        return dataset
    max_length = config.max_length or sys.maxsize
    # Counted from the rows the trainer gets (the dataset's own Arrow table), located in their shards.
    bounds = shard_bounds(shards.split_files(config.data_dir, split))
    report = count_tokens(
        located(dataset_chunks(dataset), bounds),
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
