"""`vlmdata convert --engine ray`: the parts of every input file checked, converted and written on the
workers; one commit step on the driver (`convert.Job.output`) names the shards and writes the rest.

    convert_ray(job, overwrite, max_shard_bytes, quiet, address) -> ConvertReport  # as convert() gives

Phase 1: a worker runs `convert.convert_file` on its part with a recording sink. For Parquet outputs it
returns a small result (the part's report pieces, its rows' sizes and video flags) and, as a second task
return that the driver never fetches, the part's converted Arrow table. The driver plans shards and row
groups from the sizes with the single-machine ShardWriter's rule (vlmdata.shard_plan), and phase 2
(vlmdata.ray.shards) writes each shard on a worker from the tables: the same bytes, with the same names.
JSON outputs keep their records on the driver's path: a worker sends them (with their changes, worked
out with a store that only hashes), the driver's sink writes them in order (one file per split).
"""

from __future__ import annotations

import os
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from vlmdata.ray.engine import (
    CheckedPart,
    Failure,
    checked_fields,
    connect,
    in_folder,
    jsonl_parts,
    ordered,
    to_ipc,
    unit_bytes,
)


@dataclass
class PartResult(CheckedPart):
    """A converted part: its checks' findings (CheckedPart) and the conversion's report pieces and rows."""

    writes: list = field(default_factory=list)  # records for a JSON output, in order
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
    sizes: object = None  # a Parquet output's rows: their sizes and video flags (vlmdata.shard_plan)
    video_rows: object = None


class _Recorder:
    """Stands for a split's sink on a worker: keeps the rows, in order (records for a JSON output; for
    Parquet, records with their image files read here, and Arrow batches)."""

    media: set = set()

    def __init__(self, target, options: dict):
        self.target, self.options = target, options
        self.writes: list = []  # records (JSON output)
        self.pieces: list = []  # lists of records and Arrow tables (Parquet output)
        self.writer = self  # convert's Arrow paths write batches through sink.writer
        self.ctx = None

    def write(self, rec: dict) -> list[str]:
        from vlmdata.io import read_image_bytes
        from vlmdata.record import MEDIA_LISTS

        if self.target.CANONICAL:  # the image files are read here, on the worker
            rec = {**rec, **{key: [read_image_bytes(m) for m in rec.get(key) or ()] for key in MEDIA_LISTS}}
            if not self.pieces or not isinstance(self.pieces[-1], list):
                self.pieces.append([])
            self.pieces[-1].append(rec)
            return []
        if self.ctx is None:
            self.ctx = _hashing_context()
        _, changes = self.target.from_canonical(rec, self.ctx, **self.options)
        self.writes.append(rec)
        return changes

    def write_batch(self, batch) -> None:
        import pyarrow as pa

        if batch.num_rows:
            self.pieces.append(pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch)

    def table(self):
        """The Parquet rows as one Arrow table in the canonical schema (None: no rows)."""
        import pyarrow as pa

        from vlmdata.record import ARROW_SCHEMA

        if not self.pieces:
            return None
        tables = [
            pa.Table.from_pylist(p, schema=ARROW_SCHEMA) if isinstance(p, list) else p for p in self.pieces
        ]
        return pa.concat_tables([t.replace_schema_metadata(ARROW_SCHEMA.metadata) for t in tables])


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


def convert_part(cwd: str, job_args: dict, file_index: int, part):
    """One part on a worker: convert's own per-file code with a recording sink.
    -> (PartResult | Failure, the Parquet rows as an Arrow IPC buffer | None)"""
    from vlmdata.convert import Job, _Run, convert_file
    from vlmdata.errors import VlmDataError
    from vlmdata.images import own_pixel_limit
    from vlmdata.progress import _Silent
    from vlmdata.shard_plan import table_sizes
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
            table = sink.table() if run.writing else None
            sizes, videos = table_sizes(table) if table is not None else (None, None)
            result = PartResult(
                writes=sink.writes,
                rows=report.rows,
                images=report.images,
                videos=report.videos,
                audios=report.audios,
                changed_records=report.changed_records,
                changes=report.changes,
                skipped=report.skipped,
                normalised=report.normalised[normalised0:],
                lossy=run.lossy,
                writing=run.writing,
                sizes=sizes,
                video_rows=videos,
                **checked_fields(checks, summary, f, skipped0=skipped0),
            )
            return result, None if table is None else to_ipc(table)
    except (VlmDataError, OSError) as exc:
        return Failure(exc), None


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
    from vlmdata.ray.shards import PlannedShards, wait_for
    from vlmdata.validate.report import FileSummary

    ray = connect(address)
    files = job.checks.dataset.files
    parts = [(k, part) for k, f in enumerate(files) for part in plan(ray, job, f)]
    cwd = os.getcwd()
    job_args = job.open_kwargs
    results = ordered(ray, convert_part, [(cwd, job_args, k, part) for k, part in parts], num_returns=2)
    writes: list = []  # the shard write tasks
    with closing(results), job.output(overwrite, max_shard_bytes, quiet) as run:
        if job.target.CANONICAL:

            def sink_for(split: str):
                if split not in run.sinks:
                    run.sinks[split] = PlannedShards(ray, run.staging, split, max_shard_bytes, writes)
                return run.sinks[split]

            run.sink_for = sink_for
        try:
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
                merge(*next(results), f, summary, job, run)
            if k_prev is not None:
                job.file_done(files[k_prev])
            if run.writing:
                for sink in run.sinks.values():
                    if isinstance(sink, PlannedShards):
                        sink.finish()
        except BaseException:
            wait_for(ray, writes, keep=False)
            raise
        wait_for(ray, writes, keep=run.writing)
    return job.report


def merge(r: PartResult, table_ref, f, summary, job, run) -> None:
    """Add one part's result to the run; its rows go to the split's sink (planned, or written here)."""
    checks, report = job.checks, job.report
    r.add_to(checks, summary, f)
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
    if not run.writing:
        return  # a problem: nothing will be written
    if r.sizes is not None and len(r.sizes):
        run.sink_for(f.split).add(r.sizes, r.video_rows, table_ref)
    if r.writes:
        sink = run.sink_for(f.split)
        for rec in r.writes:
            sink.write(rec)
    run.bar.advance(sum(r.rows.values()), images=r.images)
