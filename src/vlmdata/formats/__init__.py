"""The format registry: the only list of formats. One module per format, each carrying

    NAME, SUFFIX (".jsonl", what the writer writes), SCHEMA (schemas/<SCHEMA>.schema.json or None), CANONICAL (written as
    canonical Parquet shards), WRITER_OPTIONS (formats.base.WriterOption: one CLI flag and
    from_canonical keyword each),
    sidecar(name, {split: file}) -> {file name: bytes}   # e.g. sharegpt's dataset_info.json
and, for the record formats (CANONICAL False):
    detect(raw) -> bool, check(raw) -> (problems, image refs)   # validate's semantic checks
    to_canonical(raw, ctx) -> canonical record, from_canonical(rec, ctx, **options) -> (raw, changes)
    arrow_shape() -> pyarrow schema of the format's common JSONL layout, and
    arrow_check(table) -> (suspect rows, image rows, image values): validate's columnar pass over
    files in that layout (vlmdata.validate.columnar); both None where a format has none

    FORMATS["sharegpt"].to_canonical(raw, ctx) -> canonical record
    detect_format(raw) -> "oai" | "sharegpt" | "llava" | None
    RECORD_FORMATS -> ("oai", "sharegpt", "llava"); INPUT_CHOICES -> ("auto", *RECORD_FORMATS)

`parquet` is the canonical on-disk form (vlmdata.record.ARROW_SCHEMA); any Parquet file whose rows
look like one of the record formats is read through that format.
"""

from __future__ import annotations

from types import ModuleType

from vlmdata.formats import llava, oai, parquet, sharegpt

# Order matters for detection of records that fit several: typed parts (oai) before string content
# (sharegpt), sharegpt's conversations+images before LLaVA's conversations.
FORMATS: dict[str, ModuleType] = {m.NAME: m for m in (oai, sharegpt, llava, parquet)}
RECORD_FORMATS = tuple(name for name, m in FORMATS.items() if not m.CANONICAL)
OUTPUT_FORMATS = tuple(FORMATS)
INPUT_CHOICES = ("auto", *RECORD_FORMATS)
WRITER_OPTIONS = tuple(option for m in FORMATS.values() for option in m.WRITER_OPTIONS)  # every format's
# The file kinds read, by suffix: every record format is read from either JSON spelling (a list, or one
# record per line), and Parquet rows in any of them or canonical. Writers use their module's SUFFIX.
SUFFIXES = {".json": "json", ".jsonl": "jsonl", parquet.SUFFIX: "parquet"}


def spelled_suffixes(last: str = " or ") -> str:
    """ ".json, .jsonl or .parquet" (for messages)."""
    names = list(SUFFIXES)
    return last.join(filter(None, (", ".join(names[:-1]), names[-1])))


def detect_format(raw: dict) -> str | None:
    """The format whose shape the record has; for a malformed record, the format its keys point to, so
    that the reader reports the precise problem instead of "matches no format"."""
    for name in RECORD_FORMATS:
        if FORMATS[name].detect(raw):
            return name
    if "messages" in raw:
        return oai.NAME if "images" not in raw or _has_parts(raw["messages"]) else sharegpt.NAME
    if "conversations" in raw:
        return sharegpt.NAME if "images" in raw else llava.NAME
    return None


def spelled(names=RECORD_FORMATS) -> str:
    """("oai", "sharegpt", "llava") -> "oai, sharegpt or llava" (for messages)."""
    return " or ".join(filter(None, (", ".join(names[:-1]), names[-1])))


def format_of(raw: dict, ctx, fix: str = "pass --format to say which format it is") -> str:
    """detect_format, or a RecordError at ctx naming the keys found when nothing matches."""
    name = detect_format(raw)
    if name is None:
        ctx.fail("format", "record matches none of the formats", "$", f"{spelled()} keys",
                 ", ".join(sorted(raw))[:80], fix)  # fmt: skip
    return name


def _has_parts(messages) -> bool:
    return isinstance(messages, list) and any(
        isinstance(m, dict) and isinstance(m.get("content"), list) for m in messages
    )


__all__ = [
    "FORMATS",
    "INPUT_CHOICES",
    "OUTPUT_FORMATS",
    "RECORD_FORMATS",
    "SUFFIXES",
    "WRITER_OPTIONS",
    "detect_format",
    "format_of",
    "spelled",
    "spelled_suffixes",
]
