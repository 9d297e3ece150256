"""Canonical Parquet: not a record format but the on-disk form of canonical records
(`vlmdata.record.ARROW_SCHEMA`, images embedded), sharded `train-00000-of-00002.parquet`.

An output format only: Parquet inputs are read row by row through whichever record format their rows
have (a canonical shard is checked by `vlmdata.validate.canonical`).
"""

from __future__ import annotations

NAME = "parquet"
SUFFIX = ".parquet"
SCHEMA = None  # the Arrow schema is the schema (vlmdata.validate.canonical.check_arrow_schema)
CANONICAL = True  # written by vlmdata.io.ShardWriter, not through from_canonical
arrow_shape = arrow_check = None  # no columnar pass: validate checks record by record
WRITER_OPTIONS: tuple = ()  # none (see formats.base.WriterOption)
MAX_SHARD_BYTES = 500 * 1000 * 1000  # --max-shard-size's default (vlmdata.io.ShardWriter)


def sidecar(name: str, files: dict[str, str]) -> dict[str, bytes]:
    return {}
