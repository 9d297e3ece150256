"""validate's columnar pass: a JSONL file in its format's common layout checked a block at a time.

    validate_file(checks, f, "oai") -> (problems, records, bad_records), or None: check record by record

The file is read in blocks of whole lines (BLOCK_BYTES, so memory stays flat) by Arrow's JSON reader
with the format's `arrow_shape()` as an explicit schema (parsed on every core). A block it cannot read
as that schema (another layout, a key twice, a line that is not one JSON object) sends the whole file
back to the record-by-record checks, as does a blank line or a line not starting with "{" (row numbers
would no longer be line numbers) and a block that is not UTF-8 (Arrow's reader lets invalid bytes
through; `vlmdata.text`, the decoder every path uses, refuses them with the line). In a block that reads, the format's `arrow_check` finds the rows
that the schema and the format's checks certainly pass; each distinct image value is checked once
with validate's own ImageChecker; every other row (a problem, or only a doubt) goes through the very
checks `validate` runs on every record (`Checks.record_check`), so the report is the one the
record-by-record path writes: same problems, same order, same image counts.
"""

from __future__ import annotations

from vlmdata.formats import FORMATS
from vlmdata.inputs import InputFile
from vlmdata.text import utf8_problem

BLOCK_BYTES = 16 * 1000 * 1000
ENABLED = True  # tests switch it off to compare with the record-by-record report


class _Fallback(Exception):
    """This file is not in the layout: check it record by record."""


def validate_file(checks, f: InputFile, fmt: str):
    module = FORMATS[fmt]
    if not ENABLED or module.arrow_shape is None or f.kind != "jsonl" or f.lf is not None:
        return None
    images = checks.images
    saved = images.checked, images.outside
    try:
        return _run(checks, f, fmt, module)
    except _Fallback:
        images.checked, images.outside = saved
        return None


def _run(checks, f: InputFile, fmt: str, module):
    import numpy as np
    import orjson
    import pyarrow.json as pj

    options = pj.ParseOptions(explicit_schema=module.arrow_shape(), unexpected_field_behavior="error")
    check = checks.record_check(f, fmt)
    media_dir = str(checks.media_dir_of(f))
    images = checks.images
    verdicts: dict[str, int] = {}  # image value -> 1/0 (fine, outside the folder or not), -1 (a problem)
    problems: list = []
    records = bad = 0
    for block, starts, ends, table in _parsed(f.path, options):
        if table is None:  # not UTF-8: the record-by-record path names the line, as convert does
            raise _Fallback
        suspect, image_rows, image_codes, values = module.arrow_check(table)
        outside = _image_verdicts(images, verdicts, values, media_dir)[image_codes]
        proved = ~suspect
        proved[image_rows[outside < 0]] = False
        keep = proved[image_rows]
        images.checked += int(keep.sum())
        images.outside += int(outside[keep].sum())
        for row in np.flatnonzero(~proved).tolist():
            line = block[starts[row] : ends[row]]
            found = check(records + row, records + row + 1, orjson.loads(line))
            if found:
                bad += 1
                problems += found
        records += len(starts)
    return problems, records, bad


def _image_verdicts(images, verdicts: dict, values: list[str], media_dir: str):
    """Per distinct image value: 1 when validate's image check passes it as a file outside the dataset
    folder, 0 when it passes it otherwise, -1 when it finds a problem. Each value is checked once; the
    checker's counters are left as they were (the caller counts per reference)."""
    import numpy as np

    out = np.empty(len(values), np.int64)
    for k, value in enumerate(values):
        if value not in verdicts:
            checked, outside = images.checked, images.outside
            found = images.check(value, "$.images[0]", media_dir)
            verdicts[value] = -1 if found else images.outside - outside
            images.checked, images.outside = checked, outside
        out[k] = verdicts[value]
    return out


def _parsed(path, options):
    """(block, line starts, line ends, table) per block, in order. Blocks are parsed in worker threads
    (one per core, each block by one thread into one chunk), ahead of the caller, which checks the
    blocks already parsed meanwhile (Arrow's parser and numpy leave the GIL)."""
    import os
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    workers = max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    with ThreadPoolExecutor(workers, thread_name_prefix="vlmdata-columnar") as pool:
        ahead: deque = deque()
        for block in _blocks(path):
            ahead.append(pool.submit(_parse, block, options, path))
            if len(ahead) > workers:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def _parse(block, options, path):
    import numpy as np
    import pyarrow as pa
    import pyarrow.json as pj

    if utf8_problem(block, path) is not None:  # Arrow's JSON reader would let it through
        return block, None, None, None
    data = np.frombuffer(block, np.uint8)
    ends = np.flatnonzero(data == 10)
    if len(ends) == 0 or ends[-1] != len(data) - 1:
        ends = np.append(ends, len(data))  # the file's last line has no newline
    starts = np.concatenate([[0], ends[:-1] + 1])
    if (data[starts] != ord("{")).any():
        raise _Fallback
    try:
        one_chunk = pj.ReadOptions(use_threads=False, block_size=len(block) + 1)
        table = pj.read_json(pa.py_buffer(block), parse_options=options, read_options=one_chunk)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        raise _Fallback from None
    if table.num_rows != len(starts):  # two objects on one line
        raise _Fallback
    return block, starts, ends, table


def _blocks(path, size: int = BLOCK_BYTES):
    """The file in blocks of whole lines (the last may lack its newline)."""
    rest = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(size)
            if not chunk:
                break
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            if cut == 0:
                rest = chunk
                continue
            rest = chunk[cut:]
            yield chunk[:cut]
    if rest:
        yield rest
