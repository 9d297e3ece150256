"""`vlmdata convert --engine ray`: the parts of every input file checked and converted on the workers,
replayed in input order into the single-machine run's sinks by its commit step (`convert.Job.output`).

    convert_ray(job, overwrite, max_shard_bytes, quiet, address) -> ConvertReport  # as convert() gives

A worker runs `convert.convert_file` on its part with a recording sink: canonical records (their image
files read there) or Arrow batches for Parquet outputs, the records for JSON outputs (whose changes it
works out with a store that only hashes). The driver adds each part's report to the run's and feeds
the recorded writes to the real sinks, in order: the ShardWriter gets the very calls it gets on one
machine, so the shards are the same bytes with the same names.
"""

from __future__ import annotations

import os
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from vlmdata.ray.engine import (
    Failure,
    add_image_counts,
    connect,
    image_counts,
    in_folder,
    jsonl_parts,
    ordered,
    unit_bytes,
)


@dataclass
class PartResult:
    writes: list = field(default_factory=list)  # ("rec", record) | ("batch", Arrow IPC buffer), in order
    rows: dict = field(default_factory=dict)
    images: int = 0
    videos: int = 0
    audios: int = 0
    changed_records: int = 0
    changes: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    normalised: list = field(default_factory=list)
    lossy: list = field(default_factory=list)
    writing: bool = True
    problems: list = field(default_factory=list)
    bad_records: int = 0
    records: int = 0
    checks_skipped: list = field(default_factory=list)
    image_counts: dict = field(default_factory=dict)  # the ImageChecker's counters (parallel.COUNTS)
    format: str | None = None
    file_records: int = 0
    notes: list = field(default_factory=list)


class _Recorder:
    """Stands for a split's sink on a worker: keeps the writes for the driver, in order."""

    media: set = set()

    def __init__(self, target, options: dict):
        self.target, self.options = target, options
        self.writes: list = []
        self.writer = self  # convert's Arrow paths write batches through sink.writer
        self.ctx = None

    def write(self, rec: dict) -> list[str]:
        from vlmdata.io import read_image_bytes
        from vlmdata.record import MEDIA_LISTS

        if self.target.CANONICAL:  # the image files are read here, on the worker
            rec = {**rec, **{key: [read_image_bytes(m) for m in rec.get(key) or ()] for key in MEDIA_LISTS}}
            self.writes.append(("rec", rec))
            return []
        if self.ctx is None:
            self.ctx = _hashing_context()
        _, changes = self.target.from_canonical(rec, self.ctx, **self.options)
        self.writes.append(("rec", rec))
        return changes

    def write_batch(self, table) -> None:
        self.writes.append(("batch", to_ipc(table)))


def to_ipc(table):
    """A batch for the trip to the driver: an Arrow IPC stream in one buffer, which Ray hands over through
    its object store without a copy. Only the batch's own bytes travel: a pickled slice of a bigger
    Arrow buffer (a Parquet row group read whole) can carry all of that buffer along."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write(table)
    return sink.getvalue()


def from_ipc(buffer):
    """to_ipc's batch again, as a Table over the buffer (no copy): the same chunks, the same values."""
    import pyarrow as pa

    return pa.ipc.open_stream(buffer).read_all()


def _hashing_context():
    """A WriteContext whose stores read and hash media but write nothing (the driver's sink writes)."""
    import hashlib

    from vlmdata.formats.base import ImageStore, WriteContext, image_suffix

    class HashingStore(ImageStore):
        def add(self, image: dict) -> str:
            data = image.get("bytes")
            if data is None:
                with open(image["path"], "rb") as fh:
                    data = fh.read()
            return f"{self.folder}/{hashlib.sha256(data).hexdigest()[:20]}{image_suffix(data, image.get('path'))}"

    class HashingContext(WriteContext):
        def media(self, key: str) -> ImageStore:
            if key not in self.stores:
                self.stores[key] = HashingStore(self.out_dir, key)
            return self.stores[key]

    return HashingContext(Path(os.devnull), HashingStore(Path(os.devnull)))


def convert_part(cwd: str, job_args: dict, file_index: int, part) -> PartResult | Failure:
    """One part on a worker: convert's own per-file code with a recording sink."""
    from vlmdata.convert import Job, _Run, convert_file
    from vlmdata.errors import VlmDataError
    from vlmdata.images import own_pixel_limit
    from vlmdata.progress import _Silent
    from vlmdata.validate.report import FileSummary

    try:
        with in_folder(cwd), own_pixel_limit():
            job = Job.open(**job_args)
            checks, report = job.checks, job.report
            f = checks.dataset.files[file_index]
            normalised0, skipped0 = len(report.normalised), len(checks.report.skipped)
            run = _Run(checks, report, job.skip_invalid, job.allow_lossy, _Silent())
            sink = _Recorder(job.target, job.options)
            run.sink_for = lambda split: sink
            summary = FileSummary(str(f.path), None)
            convert_file(f, job.fmt, job.target, run.sink_for, run, summary, part)
            return PartResult(
                sink.writes, report.rows, report.images, report.videos, report.audios,
                report.changed_records, report.changes, report.skipped, report.normalised[normalised0:],
                run.lossy, run.writing, checks.report.problems, checks.report.bad_records,
                checks.report.records, checks.report.skipped[skipped0:], image_counts(checks),
                summary.format, summary.records, list(f.notes),
            )  # fmt: skip
    except (VlmDataError, OSError) as exc:
        return Failure(exc)


def plan(ray, job, f) -> list:
    """The parts of one input file (None: the whole file as one part)."""
    from vlmdata import arrow_path
    from vlmdata.errors import RecordError
    from vlmdata.formats import format_of
    from vlmdata.formats.base import ReadContext
    from vlmdata.inputs import iter_raw
    from vlmdata.shards import is_canonical
    from vlmdata.validate.run import Part

    target, checks = job.target, job.checks
    if target.CANONICAL and f.kind == "parquet" and job.fmt == "auto" and is_canonical(f.path):
        return [Part(None, rows=r) for r in arrow_path.row_ranges(f.path, unit_bytes())] or [None]
    if target.CANONICAL and f.kind == "parquet" and arrow_path.has_embedded_images(f.path):
        fmt = None if job.fmt == "auto" else job.fmt
        if fmt is None and f.fmt is None:  # told from the first row, as convert_file tells it
            ctx = ReadContext(
                str(f.path), checks.root, checks.media_dir_of(f), columns=f.columns, tags=f.tags
            )
            for rows, _ in arrow_path.read_rows(f.path):
                try:
                    fmt = format_of(rows[0], ctx) if rows else None
                except RecordError:
                    return [None]
                break
        fmt = fmt or f.fmt
        return [Part(fmt, rows=r) for r in arrow_path.row_ranges(f.path, unit_bytes())] if fmt else [None]
    if f.kind == "jsonl" and f.lf is None:
        fmt, _ = checks.detect(iter_raw(f, on_error=lambda problem: None), f)
        return jsonl_parts(ray, f.path, fmt) if fmt else [None]
    return [None]


def convert(src, to, out, *, fmt="auto", allow_lossy=False, overwrite=False, max_shard_bytes=None,
            media_dir=None, writer_options=None, skip_invalid=False, check_images=False, max_pixels=None,
            check_videos=False, max_video_pixels=None, quiet=True, address: str | None = None):  # fmt: skip
    """vlmdata.convert.convert's arguments, run on the Ray cluster at `address` (None: a local Ray)."""
    from vlmdata.convert import Job
    from vlmdata.images import DEFAULT_MAX_PIXELS
    from vlmdata.io import DEFAULT_MAX_SHARD_BYTES
    from vlmdata.ray import require
    from vlmdata.videos import DEFAULT_MAX_VIDEO_PIXELS

    require()
    job = Job.open(src, to, out, fmt, allow_lossy, skip_invalid, check_images, max_pixels or DEFAULT_MAX_PIXELS,
                   media_dir, writer_options, check_videos, max_video_pixels or DEFAULT_MAX_VIDEO_PIXELS)  # fmt: skip
    return convert_ray(job, overwrite, max_shard_bytes or DEFAULT_MAX_SHARD_BYTES, quiet, address)


def convert_ray(job, overwrite: bool, max_shard_bytes: int, quiet: bool, address: str | None):
    ray = connect(address)
    files = job.checks.dataset.files
    parts = [(k, part) for k, f in enumerate(files) for part in plan(ray, job, f)]
    cwd = os.getcwd()
    job_args = job.open_kwargs
    results = ordered(ray, convert_part, [(cwd, job_args, k, part) for k, part in parts])
    from vlmdata.validate.report import FileSummary

    with closing(results), job.output(overwrite, max_shard_bytes, quiet) as run:
        k_prev = None
        summary = None
        for k, _ in parts:
            f = files[k]
            if k != k_prev:
                if k_prev is not None:
                    job.file_done(files[k_prev])
                summary = FileSummary(str(f.path), None)
                job.checks.report.files.append(summary)
                k_prev = k
            merge(next(results), f, summary, job, run)
        if k_prev is not None:
            job.file_done(files[k_prev])
    return job.report


def merge(r: PartResult, f, summary, job, run) -> None:
    """Add one part's result to the run, and replay its writes into the real sinks."""
    checks, report = job.checks, job.report
    checks.report.problems += r.problems
    checks.report.bad_records += r.bad_records
    checks.report.records += r.records
    checks.report.skipped += r.checks_skipped
    add_image_counts(checks, r.image_counts)
    for split, n in r.rows.items():
        report.rows[split] = report.rows.get(split, 0) + n
    report.images += r.images
    report.videos += r.videos
    report.audios += r.audios
    report.changed_records += r.changed_records
    report.changes += r.changes
    report.skipped += r.skipped
    report.normalised += r.normalised
    run.lossy += r.lossy
    run.writing = run.writing and r.writing
    summary.format = summary.format or r.format
    summary.records += r.file_records
    f.notes += [n for n in r.notes if n not in f.notes]
    if not run.writing:
        return  # a problem: nothing will be written
    sink = run.sink_for(f.split) if r.writes else None
    for kind, item in r.writes:
        if kind == "rec":
            sink.write(item)
        else:
            sink.writer.write_batch(from_ipc(item))
    run.bar.advance(sum(r.rows.values()), images=r.images)
