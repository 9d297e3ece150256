"""Large JSONL files validated by several processes, each over one byte range of whole lines.

    validate_spans(checks, f, fmt, jobs=2) -> (problems, records, bad_records)  # as one process finds them

Each worker runs the same per-record checks (`Checks.record_check`) on the lines of its range; lines and
record indexes come back relative to the range and are shifted here by the lines and records of the
ranges before it, so the report is the one a single process writes (same order, same locations). Used
only where the checks are per record: plain JSONL (no dataset_info.json entry, whose column checks need
the whole file) and no token counting. Workers are forked: they start with everything imported.
"""

from __future__ import annotations

import os
from pathlib import Path

from vlmdata.inputs import InputFile, iter_raw

MIN_BYTES = 32 * 1000 * 1000  # below this one process is as fast (forking and merging cost ~50 ms)


def jobs_available() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def eligible(f: InputFile, counting: bool) -> bool:
    import threading

    return (
        threading.active_count() == 1  # forking a threaded process (vlmdata view's server) can deadlock
        and f.kind == "jsonl"
        and f.lf is None
        and not counting
        and jobs_available() > 1
        and f.path.stat().st_size >= MIN_BYTES
    )


def spans(path: Path, parts: int) -> list[tuple[int, int]]:
    """Byte ranges [start, end) that begin at line starts and cover the file."""
    size = path.stat().st_size
    starts = [0]
    with open(path, "rb") as fh:
        for k in range(1, parts):
            fh.seek(size * k // parts)
            fh.readline()  # to the next line start
            pos = fh.tell()
            if starts[-1] < pos < size:
                starts.append(pos)
    return list(zip(starts, [*starts[1:], size], strict=True))


_STATE: dict = {}  # the parent's Checks, inherited by the forked workers
COUNTS = ("checked", "outside", "videos", "videos_unopened")  # the ImageChecker's counters, summed back


def _work(args):
    span, fmt = args
    checks, f = _STATE["checks"], _STATE["file"]
    before = [getattr(checks.images, name) for name in COUNTS]  # the parent's counts so far
    check = checks.record_check(f, fmt)
    problems, bad_lines = [], []
    records = bad = lines = 0
    for index, line, raw in iter_raw(f, on_error=bad_lines.append, span=span):
        while bad_lines:
            problems.append(bad_lines.pop(0))
            records += 1
            bad += 1
        found = check(index, line, raw)
        records += 1
        if found:
            bad += 1
            problems += found
    problems += bad_lines
    records += len(bad_lines)
    bad += len(bad_lines)
    with open(f.path, "rb") as fh:
        fh.seek(span[0])
        lines = fh.read(span[1] - span[0]).count(b"\n")
    counts = [getattr(checks.images, name) - n for name, n in zip(COUNTS, before, strict=True)]
    return problems, records, bad, lines, counts


def validate_spans(checks, f: InputFile, fmt: str, jobs: int):
    import multiprocessing

    _STATE.update(checks=checks, file=f)
    parts = spans(f.path, jobs)
    try:
        with multiprocessing.get_context("fork").Pool(len(parts)) as pool:
            results = pool.map(_work, [(span, fmt) for span in parts])
    finally:
        _STATE.clear()
    problems, records, bad, line_offset = [], 0, 0, 0
    for found, n, n_bad, n_lines, counts in results:
        for p in found:
            if p.where.record is not None:
                p.where.record += records
            if p.where.line is not None:
                p.where.line += line_offset
        problems += found
        records += n
        bad += n_bad
        line_offset += n_lines
        for name, count in zip(COUNTS, counts, strict=True):
            setattr(checks.images, name, getattr(checks.images, name) + count)
    return problems, records, bad
