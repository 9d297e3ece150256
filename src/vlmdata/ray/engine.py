"""The Ray engine's plumbing: connecting, cutting files into parts, and running parts on the workers with
their results handed back in input order.

    session = connect("127.0.0.1:6379")            # or None: a local Ray is started
    for result in ordered(session, worker_fn, [args, ...]):   # at most a few parts in flight
        ...

A part's task is retried by Ray when its worker dies (tasks hold no state: they read their input and
return their result), so a killed worker gives the same result or, retries spent, a clean error
(`RayJobError`) raised inside the commit step: nothing is written.
"""

from __future__ import annotations

import os
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from vlmdata.errors import VlmDataError

UNIT_BYTES = 48 * 1000 * 1000  # a part's size: big enough to amortise a task, small for the object store


def unit_bytes() -> int:
    """UNIT_BYTES, or VLMDATA_RAY_UNIT_BYTES (tests cut tiny files into several parts with it)."""
    return int(os.environ.get("VLMDATA_RAY_UNIT_BYTES") or UNIT_BYTES)


IN_FLIGHT_PER_CPU = 2


class RayJobError(VlmDataError):
    """A Ray task failed for a reason that is not the data's (a worker lost more often than retried)."""


class Failure:
    """A worker's VlmDataError or OSError, returned as a value so the driver raises the original."""

    def __init__(self, exc: BaseException):
        self.exc = exc

    def __reduce__(self):
        # vlmdata's errors take their Problems, not their message, in __init__: pickle's default would
        # call them with the message. Rebuilt here without __init__, with their attributes.
        if isinstance(self.exc, OSError):
            return Failure, (self.exc,)
        return _rebuilt, (type(self.exc), self.exc.args, dict(self.exc.__dict__))


def _rebuilt(cls, args: tuple, attrs: dict) -> Failure:
    exc = cls.__new__(cls)
    Exception.__init__(exc, *args)
    exc.__dict__.update(attrs)
    return Failure(exc)


def connect(address: str | None):
    """Ray, connected to the cluster at `address` (or a new local one); quiet on the terminal."""
    from vlmdata.ray import require

    ray = require()
    if not ray.is_initialized():
        kwargs = {"log_to_driver": False, "logging_level": "ERROR", "configure_logging": True}
        if address is None:
            kwargs["include_dashboard"] = False
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayJobError(f"cannot connect to the Ray cluster at {address}: {exc}") from None
    return ray


def window(ray) -> int:
    return max(2, int(ray.cluster_resources().get("CPU", 1)) * IN_FLIGHT_PER_CPU)


def ordered(ray, fn, args_list, raise_failures: bool = True, num_returns: int = 1):
    """Results of fn(*args) run as Ray tasks, in the order of args_list, a bounded number in flight.
    A Failure is raised here as the worker's exception (or, raise_failures=False, handed on).
    num_returns=2: fn returns (result, bulk) and this yields (result, the bulk's ref): the bulk stays in
    the object store (for later tasks), and Ray rebuilds it by lineage if its node is lost."""
    remote = ray.remote(max_retries=3, num_returns=num_returns)(fn)
    pending: deque = deque()
    limit = window(ray)
    todo = iter(args_list)

    def result(refs):
        if num_returns == 1:
            return _result(ray, refs, raise_failures)
        return _result(ray, refs[0], raise_failures), refs[1]

    try:
        for args in todo:
            pending.append(remote.remote(*args))
            if len(pending) >= limit:
                yield result(pending.popleft())
        while pending:
            yield result(pending.popleft())
    finally:
        # Also run when the driver fails outside this generator and it is only closed at exit, after
        # Ray's own shutdown: a call into Ray then would start a new Ray and hang there.
        if pending and ray.is_initialized():
            for refs in pending:
                ray.cancel(refs if num_returns == 1 else refs[0], force=True)


def _result(ray, ref, raise_failures: bool = True):
    try:
        value = ray.get(ref)
    except ray.exceptions.RayError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RayJobError(
            f"a Ray task failed and its retries are spent ({first}); nothing was written"
        ) from None
    if isinstance(value, Failure) and raise_failures:
        raise value.exc
    return value


def to_ipc(table):
    """A table for the object store: an Arrow IPC stream in one buffer, which Ray hands over without a
    copy. Only the table's own bytes travel: a pickled slice of a bigger Arrow buffer (a Parquet row
    group read whole) can carry all of that buffer along."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write(table)
    return sink.getvalue()


def from_ipc(buffer):
    """to_ipc's table again, over the buffer (no copy): the same chunks, the same values."""
    import pyarrow as pa

    return pa.ipc.open_stream(buffer).read_all()


@contextmanager
def in_folder(cwd: str):
    """Run a task in the driver's working folder: relative paths (and so every report location) resolve
    as they do on the driver."""
    before = os.getcwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)


def jsonl_spans(path: Path) -> list[tuple[int, int]]:
    from vlmdata.validate.parallel import spans

    return spans(path, max(1, -(-path.stat().st_size // unit_bytes())))


def count_lines(path: str, span: tuple[int, int]) -> tuple[int, int]:
    """(records, lines) in a byte range: what iter_raw counts there (a blank line takes no index)."""
    from vlmdata.inputs import _lines_in

    records = lines = 0
    with open(path, "rb") as fh:
        for line in _lines_in(fh, *span):
            lines += 1
            records += bool(line.strip())
    return records, lines


def jsonl_parts(ray, path: Path, fmt: str):
    """The file's byte ranges as Parts, each with the records and lines before it (counted on workers)."""
    from vlmdata.validate.run import Part

    spans = jsonl_spans(path)
    if len(spans) == 1:
        return [Part(fmt, span=spans[0])]
    counts = list(ordered(ray, count_lines, [(str(path), s) for s in spans]))
    parts, records, lines = [], 0, 0
    for span, (n, m) in zip(spans, counts, strict=True):
        parts.append(Part(fmt, span=span, start=(records, lines)))
        records, lines = records + n, lines + m
    return parts


def image_counts(checks) -> dict:
    """A worker's ImageChecker counters (images checked, outside, videos, unopened videos), for the driver."""
    from vlmdata.validate.parallel import COUNTS

    return {name: getattr(checks.images, name) for name in COUNTS}


def add_image_counts(checks, counts: dict) -> None:
    """The driver's side of image_counts: a part's counters added to the run's."""
    for name, n in counts.items():
        setattr(checks.images, name, getattr(checks.images, name) + n)


@dataclass
class CheckedPart:
    """What validate's checks found in one part, sent from its worker to the driver (`checked_fields` on the
    worker, `add_to` on the driver); the Ray convert's part result extends it with the conversion's own:
        CheckedPart(problems=[...], records=120, bad_records=1, checks_skipped=[...],
                    image_counts={"checked": 40, ...}, format="sharegpt", file_records=120, notes=[...])"""

    problems: list = field(default_factory=list)
    records: int = 0
    bad_records: int = 0
    checks_skipped: list = field(default_factory=list)  # the checks' report.skipped
    image_counts: dict = field(default_factory=dict)  # the ImageChecker's counters (parallel.COUNTS)
    format: str | None = None
    file_records: int = 0  # the file's FileSummary.records (a whole-file part)
    notes: list = field(default_factory=list)

    def add_to(self, checks, summary, f) -> None:
        """The driver's side: this part's findings added to the run's checks, the file's summary and notes."""
        checks.report.problems += self.problems
        checks.report.records += self.records
        checks.report.bad_records += self.bad_records
        checks.report.skipped += self.checks_skipped
        add_image_counts(checks, self.image_counts)
        summary.format = summary.format or self.format
        summary.records += self.file_records
        f.notes += [n for n in self.notes if n not in f.notes]


def checked_fields(checks, summary, f, problems0: int = 0, skipped0: int = 0) -> dict:
    """The worker's side of CheckedPart, as keyword arguments: the part's checks (its problems and skipped
    checks from index problems0 / skipped0 on, those before being the worker's earlier parts'), its file
    summary and the file's notes."""
    report = checks.report
    return dict(
        problems=report.problems[problems0:],
        records=report.records,
        bad_records=report.bad_records,
        checks_skipped=report.skipped[skipped0:],
        image_counts=image_counts(checks),
        format=summary.format,
        file_records=summary.records,
        notes=list(f.notes),
    )
