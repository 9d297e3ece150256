"""The one UTF-8 decoder: every JSON and JSONL byte `validate`, `convert`, `info` and `view` read goes
through it (record by record in `vlmdata.inputs`, a block at a time in `vlmdata.validate.columnar`),
so invalid UTF-8 is refused the same way, naming the file and line, whichever path reads it.

    decode_utf8(b'{"a": "\\xff"}', Path("t.jsonl"), first_line=3)
      -> RecordError: t.jsonl:3: file is not UTF-8 (byte 7) (expected UTF-8, found invalid byte 0xff)
    utf8_problem(block, path) -> None when the bytes are UTF-8, else that Problem
    load_json(path) -> the parsed document (decoded here first)
"""

from __future__ import annotations

from pathlib import Path

import orjson

from vlmdata.errors import Location, Problem, RecordError


def utf8_problem(data: bytes, path: Path, first_line: int = 1) -> Problem | None:
    """None when `data` is UTF-8; else the problem at its first bad byte (`first_line`: data's line)."""
    if data.isascii():  # the common case, checked at memory speed
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem(
            "encoding",
            f"file is not UTF-8 (byte {exc.start})",
            Location(str(path), line=data.count(b"\n", 0, exc.start) + first_line),
            "UTF-8",
            f"invalid byte 0x{data[exc.start]:02x}",
            "re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
        )
    return None


def decode_utf8(data: bytes, path: Path, first_line: int = 1) -> str:
    """`data` as text, or a RecordError naming the file and the line of the first invalid byte."""
    problem = utf8_problem(data, path, first_line)
    if problem is not None:
        raise RecordError(problem)
    return data.decode("utf-8")


def json_error(exc: orjson.JSONDecodeError, path: Path, line_offset: int = 0, record=None) -> RecordError:
    line = (exc.lineno or 1) + line_offset
    return RecordError(
        Problem(
            "json",
            f"malformed JSON: {exc.msg} (column {exc.colno})",
            Location(str(path), record, line),
            "valid JSON",
            f"error at column {exc.colno}",
            "fix the JSON syntax at that line",
        )
    )


def load_json(path: Path):
    """A JSON file, parsed: a RecordError names the line of invalid UTF-8 or of the syntax error."""
    data = Path(path).read_bytes()
    problem = utf8_problem(data, path)
    if problem is not None:
        raise RecordError(problem)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise json_error(exc, path) from None


def line_problem(line: bytes, path: Path, lineno: int, index: int) -> Problem:
    """Why a JSONL line does not parse: not UTF-8 (the byte), or the JSON error (line and column)."""
    problem = utf8_problem(line, path, lineno)
    if problem is not None:
        return problem
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return json_error(exc, path, lineno - 1, index).problem
    raise AssertionError("the line parsed the second time")  # pragma: no cover
