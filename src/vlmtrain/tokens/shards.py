"""Layer 2 (data): records from canonical Parquet shards, image bytes left undecoded (pyarrow, not
`datasets`).

    iter_split("data/naruto", "train", batch_rows=512)
      -> yields (file, first_index_in_file, [record, ...]) with record = {"id", "messages", "images", "source"}

Only the columns the count needs are read; memory stays at one record batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vlmtrain.errors import ConfigError, VlmTrainError

COLUMNS = ["id", "messages", "images"]


def check_shards(files) -> None:
    """Every shard opens as Parquet and has the canonical columns; otherwise one error naming the file
    (instead of a pyarrow/datasets traceback deep inside `check`, `run` or `predict`)."""
    import pyarrow.parquet as pq

    for path in files:
        try:
            names = pq.read_schema(path).names
        except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
            raise VlmTrainError(
                f"{path}: not a readable Parquet file ({exc}); write the shards again with `vlmdata download` "
                "or `vlmdata convert SRC --to parquet --out DIR`"
            ) from None
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            raise VlmTrainError(
                f"{path}: not a vlmdata shard: no column(s) {', '.join(missing)} (expected {', '.join(COLUMNS)}, "
                f"found {', '.join(names)}); convert the data with `vlmdata convert SRC --to parquet --out DIR`"
            )


def split_files(data_dir, split: str) -> list[Path]:
    root = Path(data_dir)
    if not root.is_dir():
        raise ConfigError([f"data_dir {str(root)!r} is not a folder"], source="data")
    files = sorted(root.glob(f"{split}-*.parquet")) or sorted(root.glob(f"**/{split}-*.parquet"))
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
    data_dir, split: str = "train", batch_rows: int = 512
) -> Iterator[tuple[str, int, list[dict]]]:
    import pyarrow.parquet as pq

    files = split_files(data_dir, split)
    check_shards(files)
    for path in files:
        pf = pq.ParquetFile(path)
        index = 0
        for batch in pf.iter_batches(batch_size=batch_rows, columns=COLUMNS):
            records = batch.to_pylist()
            yield str(path), index, records
            index += len(records)
