"""Canonical Parquet shards: a split's files, the canonical-layout test, and reading a split (one layer
for `vlmdata` and `vlmtrain`; no torch, no vlmtrain import).

    split_files("data/naruto", "train")   -> [Path("data/naruto/train-00000-of-00002.parquet"), ...]
    splits("data/naruto")                 -> ["train", "validation"]
    layout(path)                          -> "current" | "legacy" | "near" | None
    is_canonical("data/naruto")           -> True (every shard of every split is canonical)
    load_split("data/naruto", "train", decode=False)
      -> datasets.Dataset({id, messages, images: [{"bytes", "path"}], videos, audios, source})
    iter_split("data/naruto", "train", columns=["id", "messages", "images"], batch_size=512)
      -> yields ("data/naruto/train-00000-of-00002.parquet", 0, [{"id": ..., "messages": ..., "images": ...}, ...])

A split's files, one rule: `<folder>/<split>-*.parquet`, sorted; when the folder has none of that
split, `<folder>/data/<split>-*.parquet` (the Hub's layout, which `datasets.load_dataset(DIR)` itself
reads first: its SPLIT_PATTERN_SHARDED `data/{split}-NNNNN-of-NNNNN*.*`). No other subfolder is
searched: `datasets`' fallback patterns (`**/train[-._ 0-9]*`) would also take a copy in any subfolder
(`old/`, `backup/`) into the split, and map split names onto its own keywords (`eval` -> `test`).
Files whose names start with "." (a writer's partial files) are never a split's files. The files are
handed to `datasets` explicitly (`data_files=`), so its own pattern guessing never applies.

The canonical layout, one rule (`layout`): a Parquet file whose columns include id, messages, images
and source claims the canonical layout; it IS canonical when its Arrow schema is `record.ARROW_SCHEMA`
("current") or the one from before videos/audios ("legacy"), metadata aside. A file that claims the
layout with other types or columns is "near": validate reports how it differs
(`validate.canonical.check_arrow_schema`); convert, info and view read its rows as records.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vlmdata.errors import VlmDataError
from vlmdata.formats import parquet

CANONICAL_COLUMNS = ("id", "messages", "images", "source")
HUB_SUBFOLDER = "data"  # the Hub's layout: <repo>/data/train-00000-of-00001.parquet
BATCH_ROWS = 512


class ShardError(VlmDataError):
    """A data folder, split or shard that cannot be read as canonical shards."""


def split_files(folder: str | Path, split: str) -> list[Path]:
    """The split's shard files, sorted (see the rule above); [] when the split has none."""
    root = Path(folder)
    for where in (root, root / HUB_SUBFOLDER):
        files = sorted(p for p in where.glob(f"{split}-*{parquet.SUFFIX}") if not p.name.startswith("."))
        if files:
            return files
    return []


def splits(folder: str | Path) -> list[str]:
    """The splits that have shards in `folder` (by the same rule), sorted: ["train", "validation"]."""
    root = Path(folder)
    found: set[str] = set()
    for where in (root, root / HUB_SUBFOLDER):
        for p in where.glob(f"*-*{parquet.SUFFIX}"):
            if not p.name.startswith(".") and p.name.split("-")[0] not in found:
                found.add(p.name.split("-")[0])
    return sorted(found)


def layout(path: str | Path) -> str | None:
    """ "current" | "legacy" (a shard from before videos/audios) | "near" (the canonical columns, another
    schema) | None (unreadable, or not a canonical shard at all)."""
    import pyarrow.parquet as pq

    from vlmdata.record import ARROW_SCHEMA, LEGACY_SCHEMA

    try:
        schema = pq.read_schema(path).remove_metadata()
    except Exception:  # pyarrow raises several types for damaged files: the row reader reports it
        return None
    if schema.equals(ARROW_SCHEMA.remove_metadata()):
        return "current"
    if schema.equals(LEGACY_SCHEMA.remove_metadata()):
        return "legacy"
    return "near" if set(schema.names) >= set(CANONICAL_COLUMNS) else None


def is_canonical(path_or_folder: str | Path) -> bool:
    """A shard (or a folder whose every split's shards are) in the canonical layout, current or legacy."""
    path = Path(path_or_folder)
    if not path.is_dir():
        return layout(path) in ("current", "legacy")
    files = [f for split in splits(path) for f in split_files(path, split)]
    return bool(files) and all(layout(f) in ("current", "legacy") for f in files)


def require_split(folder: str | Path, split: str) -> list[Path]:
    """split_files, or a ShardError naming the folder and the splits it has."""
    root = Path(folder)
    if not root.is_dir():
        raise ShardError(f"{root}: no such data folder; pass a folder of vlmdata Parquet shards")
    files = split_files(root, split)
    if not files:
        found = ", ".join(splits(root)) or "none"
        raise ShardError(f"{root}: no {split!r} split (no {split}-*{parquet.SUFFIX}); splits found: {found}")
    return files


def check_shards(files, columns=("id", "messages", "images")) -> None:
    """Every shard opens as Parquet and has `columns`; otherwise one ShardError naming the file (instead
    of a pyarrow/datasets traceback deep inside the reader)."""
    import pyarrow.parquet as pq

    for path in files:
        try:
            names = pq.read_schema(path).names
        except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
            raise ShardError(
                f"{path}: not a readable Parquet file ({exc}); write the shards again with `vlmdata download` "
                "or `vlmdata convert SRC --to parquet --out DIR`"
            ) from None
        missing = [c for c in columns if c not in names]
        if missing:
            raise ShardError(
                f"{path}: not a vlmdata shard: no column(s) {', '.join(missing)} (expected "
                f"{', '.join(columns)}, found {', '.join(names)}); convert the data with "
                "`vlmdata convert SRC --to parquet --out DIR`"
            )


def load_split(folder: str | Path, split: str, decode: bool = True, files: list | None = None):
    """The split as one `datasets.Dataset`, read once from its files.

    decode=True: images (and the shards' `huggingface` metadata says so) decode to PIL through
    datasets' Image feature; decode=False: they stay {"bytes", "path"} structs (an unreadable image
    then fails where the caller decodes it, naming its record). `files`: the split's files when the
    caller already has them (split_files); by default they are found and checked here.
    """
    import datasets

    if files is None:
        files = require_split(folder, split)
        check_shards(files)
    features = None
    if not decode:
        import pyarrow.parquet as pq

        # Given to the reader rather than cast afterwards: a cast of List(Image) runs as a map that
        # writes a second Arrow copy of the whole split.
        features = datasets.Features.from_arrow_schema(pq.read_schema(files[0]))
        if "images" in features:
            features["images"] = datasets.List(datasets.Image(decode=False))
    return datasets.load_dataset(
        "parquet", data_files={split: [str(f) for f in files]}, split=split, features=features
    )


def iter_batches(
    folder: str | Path, split: str, columns: list[str] | None = None, batch_size: int = BATCH_ROWS
) -> Iterator[tuple[Path, int, object]]:
    """(file, index of the batch's first row in that file, pyarrow.RecordBatch) for the whole split, in
    order; memory stays at one batch."""
    import pyarrow.parquet as pq

    files = require_split(folder, split)
    check_shards(files, [c for c in columns or () if c in CANONICAL_COLUMNS])
    for path in files:
        index = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=columns):
            yield path, index, batch
            index += batch.num_rows


def iter_split(
    folder: str | Path, split: str, columns: list[str] | None = None, batch_size: int = BATCH_ROWS
) -> Iterator[tuple[str, int, list[dict]]]:
    """(file, index of the first record in that file, [record, ...]) per batch: iter_batches as Python
    records (images stay {"bytes", "path"})."""
    for path, index, batch in iter_batches(folder, split, columns, batch_size):
        yield str(path), index, batch.to_pylist()


__all__ = [
    "CANONICAL_COLUMNS",
    "ShardError",
    "check_shards",
    "is_canonical",
    "iter_batches",
    "iter_split",
    "layout",
    "load_split",
    "require_split",
    "split_files",
    "splits",
]
