"""`vlmdata convert`: check every record as `validate` does, then stream it into one output format.

    convert("data/lf", to="parquet", out="data/canonical")
      -> ConvertReport(rows={"train": 3}, images=3, changes=[], skipped=[], files=["train-00000-of-00001.parquet"])

Every record first goes through validate's checks (`vlmdata.validate.run.Checks`: schema, the format's
semantic checks, image headers, dataset_info.json and LLaMA-Factory's own rules). A problem stops the run
with validate's report and nothing written; with `skip_invalid` the valid records are written and every
skipped one is listed (ConvertReport.skipped, conversion_report.json). Valid records are read through their
format module into canonical records and written through the target's module. Parquet keeps images
embedded; JSON outputs store each distinct image once under `images/` with a content-addressed name.
Parquet inputs into Parquet keep image bytes in Arrow (vlmdata.arrow_path). Everything is written to a
temporary folder renamed onto `out` at the end, under a lock on `out`: an error, an interrupt or a second
command never leaves partial output.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from vlmdata import arrow_path
from vlmdata.atomic import atomic_output_dir
from vlmdata.convert_sinks import REPORT_FILE, JsonSink, ParquetSink, make_sink  # noqa: F401 (re-exported)
from vlmdata.errors import (
    InvalidDataError,
    Location,
    LossyConversionError,
    Problem,
    RecordError,
    UsageError,
    VlmDataError,
)
from vlmdata.formats import FORMATS, OUTPUT_FORMATS, format_of
from vlmdata.formats.base import ImageStore, ReadContext
from vlmdata.images import DEFAULT_MAX_PIXELS, own_pixel_limit
from vlmdata.inputs import Dataset, InputFile, iter_raw
from vlmdata.io import DEFAULT_MAX_SHARD_BYTES
from vlmdata.progress import progress
from vlmdata.shards import is_canonical
from vlmdata.validate import image_mode, unopened_videos, video_options
from vlmdata.validate.report import FileSummary
from vlmdata.validate.run import FILE, Checks
from vlmdata.videos import DEFAULT_MAX_VIDEO_PIXELS

NORMALISED = {"lf-wrapped", "mixed-types"}  # file problems convert's clean output does not have
SKIP_HINT = (
    "Fix the records (vlmdata validate lists every problem), or pass --skip-invalid to write the valid "
    "records; every skipped one is listed."
)


@dataclass
class ConvertReport:
    out: str
    to: str
    rows: dict[str, int] = field(default_factory=dict)
    images: int = 0  # image references read
    images_stored: int = 0  # distinct image files written (JSON outputs store a repeated image once)
    images_outside: int = 0  # absolute image paths outside the dataset folder, read where they are
    videos: int = 0
    audios: int = 0
    files: list[str] = field(default_factory=list)
    changed_records: int = 0
    changes: list[dict] = field(default_factory=list)  # {"file", "record", "id", "change"}
    skipped: list[dict] = field(default_factory=list)  # {"file", "record", "line", "id", "problems"}
    normalised: list[str] = field(default_factory=list)  # what reading changed ('{"data": [...]}' unwrapped)

    def to_dict(self) -> dict:
        """The report as written to conversion_report.json: nothing machine- or run-specific in it."""
        return {k: v for k, v in self.__dict__.items() if k != "out"}


def read_records(
    dataset: Dataset, fmt: str = "auto", media_dir: str | Path | None = None
) -> Iterator[tuple[InputFile, ReadContext, dict]]:
    """Yield every record of a dataset in canonical form, with the context that locates it (no checks
    beyond the readers' own: `vlmdata info` and download's local sources)."""
    for f in dataset.files:
        base = Path(media_dir).resolve() if media_dir else f.path.parent.resolve()
        root = dataset.root if not media_dir else _common_root(dataset.root, base)
        file_fmt = None if fmt == "auto" else fmt
        file_fmt = file_fmt or f.fmt
        for index, line, raw in iter_raw(f):
            ctx = ReadContext(str(f.path), root, base, index, line, f.columns, f.tags)
            file_fmt = file_fmt or format_of(raw, ctx)
            yield f, ctx, FORMATS[file_fmt].to_canonical(raw, ctx)


def _common_root(a: Path, b: Path) -> Path:
    return b if a.is_relative_to(b) else a


class _Run:
    """One conversion: the checks, the sinks, the report, and what to do with a bad record."""

    def __init__(self, checks: Checks, report: ConvertReport, skip_invalid: bool, allow_lossy: bool, bar):
        self.checks, self.report, self.bar = checks, report, bar
        self.skip_invalid, self.allow_lossy = skip_invalid, allow_lossy
        self.lossy: list[Problem] = []
        self.sinks: dict = {}
        self.sink_for = None  # split -> its sink (Job.output sets it)
        self.staging = None  # the output's staging folder (Job.output sets it; Ray's workers write there)
        self.writing = True  # False once a problem means nothing will be written

    def invalid(self, f: InputFile, index, line, rid, problems: list[Problem]) -> None:
        report = self.checks.report
        if index == FILE and all(p.code in NORMALISED for p in problems):
            # only LLaMA-Factory's loader trips on these; convert reads the file whole and writes it clean
            self.report.normalised += [p.describe().split("\n")[0] for p in problems]
            return
        report.problems.extend(problems)
        if index == FILE:
            self.writing = False  # a file-level problem (format unknown, columns) is not skippable
            return
        report.bad_records += 1
        if self.skip_invalid:
            self.report.skipped.append(
                {
                    "file": _relative(str(f.path), self.checks.dataset.root),
                    "record": index,
                    "line": line,
                    "id": rid,
                    "problems": [p.describe() for p in problems],
                }
            )
        else:
            self.writing = False

    def wrote(self, f: InputFile, ctx_file: str, index: int, rid: str, images: int, changes: list[str]):
        self.report.rows[f.split] = self.report.rows.get(f.split, 0) + 1
        self.report.images += images
        self.bar.advance(1, images=images)
        if changes:
            self.report.changed_records += 1
            for change in changes:
                file = _relative(ctx_file, self.checks.dataset.root)
                self.report.changes.append({"file": file, "record": index, "id": rid, "change": change})
                if not self.allow_lossy:
                    self.lossy.append(Problem("lossy", change, Location(ctx_file, index)))


def convert(
    src: str | Path,
    to: str,
    out: str | Path,
    *,
    fmt: str = "auto",
    allow_lossy: bool = False,
    overwrite: bool = False,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    media_dir: str | Path | None = None,
    writer_options: dict | None = None,
    skip_invalid: bool = False,
    check_images: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    check_videos: bool = False,
    max_video_pixels: int = DEFAULT_MAX_VIDEO_PIXELS,
    quiet: bool = True,
) -> ConvertReport:
    """writer_options: the writer options of every format by name ({"llava_image_list": True}); the
    target's own (its module's WRITER_OPTIONS) are passed to its writer, the others ignored.
    (vlmdata.ray.convert.convert: the same on a Ray cluster, with the same result.)"""
    job = Job.open(
        src, to, out, fmt, allow_lossy, skip_invalid, check_images, max_pixels, media_dir, writer_options,
        check_videos, max_video_pixels,
    )  # fmt: skip
    with job.output(overwrite, max_shard_bytes, quiet) as run:
        for f in job.checks.dataset.files:
            summary = FileSummary(str(f.path), None)
            job.checks.report.files.append(summary)
            convert_file(f, job.fmt, job.target, run.sink_for, run, summary)
            job.file_done(f)
    return job.report


@dataclass
class Job:
    """One convert command: its options, the checks, the report. `output()` is the commit step, the
    one place that names shards and writes the sidecar files and the report (the Ray engine's driver
    runs it too, with the records converted on the workers)."""

    src: str | Path
    to: str
    out: str | Path
    fmt: str
    target: object
    options: dict
    checks: Checks
    report: ConvertReport
    skip_invalid: bool
    allow_lossy: bool
    open_kwargs: dict  # Job.open's arguments: a Ray worker opens the same job

    @classmethod
    def open(cls, src, to, out, fmt, allow_lossy, skip_invalid, check_images, max_pixels, media_dir,
             writer_options, check_videos=False, max_video_pixels=DEFAULT_MAX_VIDEO_PIXELS) -> Job:  # fmt: skip
        if to not in OUTPUT_FORMATS:
            raise UsageError(f"unknown output format {to!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
        target = FORMATS[to]
        given = writer_options or {}
        options = {o.keyword: given[o.name] for o in target.WRITER_OPTIONS if o.name in given}
        open_kwargs = dict(
            src=src, to=to, out=out, fmt=fmt, allow_lossy=allow_lossy, skip_invalid=skip_invalid,
            check_images=check_images, max_pixels=max_pixels, media_dir=media_dir, writer_options=writer_options,
            check_videos=check_videos, max_video_pixels=max_video_pixels,
        )  # fmt: skip
        videos = video_options(check_videos, max_video_pixels)
        checks = Checks.open(src, fmt, image_mode(check_images), max_pixels, media_dir, **videos)
        if checks.report.problems:  # dataset_info.json: the whole dataset is read wrongly, nothing to skip
            raise InvalidDataError(checks.report.problems, 0, 0, str(out), "Fix dataset_info.json first.")
        report = ConvertReport(out=str(out), to=to)
        for note in checks.report.skipped:
            report.normalised.append(f"not converted: {note}")
        return cls(src, to, out, fmt, target, options, checks, report, skip_invalid, allow_lossy, open_kwargs)

    def file_done(self, f: InputFile) -> None:
        self.report.normalised += [
            f"{_relative(str(f.path), self.checks.dataset.root)}: {n}" for n in f.notes
        ]

    @contextmanager
    def output(self, overwrite: bool, max_shard_bytes: int, quiet: bool) -> Iterator[_Run]:
        """The output folder, staged: the body converts every file through the run's sinks; then this
        commits (or raises with nothing written)."""
        checks, report, target, out = self.checks, self.report, self.target, self.out
        with (
            atomic_output_dir(out, overwrite) as tmp,
            progress(f"converting to {self.to}", quiet=quiet) as bar,
            own_pixel_limit(),
        ):
            store = ImageStore(tmp)
            run = _Run(checks, report, self.skip_invalid, self.allow_lossy, bar)
            run.staging = tmp

            def sink_for(split: str):
                if split not in run.sinks:
                    run.sinks[split] = make_sink(target, tmp, split, store, max_shard_bytes, self.options)
                return run.sinks[split]

            run.sink_for = sink_for
            yield run
            if not run.writing or (checks.report.problems and not self.skip_invalid):
                raise InvalidDataError(
                    checks.report.problems,
                    checks.report.bad_records,
                    checks.report.records,
                    str(out),
                    SKIP_HINT,
                )
            if not report.rows:
                why = f" to write ({len(report.skipped)} invalid record(s) skipped)" if report.skipped else ""
                raise VlmDataError(f"{self.src}: holds no records{why}; nothing was written")
            if run.lossy:
                raise LossyConversionError(self.to, run.lossy, report.changed_records)
            names = {}
            for split in sorted(run.sinks):
                files = run.sinks[split].close()
                report.files += files
                names[split] = (files[0] if files else "", run.sinks[split].media)
            report.images_stored = store.written if not target.CANONICAL else report.images
            report.images_outside = checks.images.outside
            report.normalised += unopened_videos(checks)
            for name, data in target.sidecar(Path(out).name, names).items():
                (tmp / name).write_bytes(data)
                report.files.append(name)
            if report.changes or report.skipped or report.normalised:
                import orjson

                (tmp / REPORT_FILE).write_bytes(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2))


def convert_file(
    f: InputFile, fmt: str, target, sink_for, run: _Run, summary: FileSummary, part=None
) -> None:
    """One input file (or one Part of it: the Ray engine's unit) through the checks into the sinks."""
    if target.CANONICAL and f.kind == "parquet" and fmt == "auto" and is_canonical(f.path):
        summary.format = "canonical"
        _copy_canonical(f, sink_for(f.split), run, part)
    elif target.CANONICAL and f.kind == "parquet" and arrow_path.has_embedded_images(f.path):
        _copy_with_arrow_images(f, fmt, sink_for(f.split), run, summary, part)
    else:
        _convert_records(f, sink_for, run, summary, part)


def _convert_records(f: InputFile, sink_for, run: _Run, summary: FileSummary, part=None) -> None:
    """A JSON/JSONL file (or Parquet rows in a record format): validate's checks, then the reader."""
    checks = run.checks
    read = ctx = None
    count = 0
    for index, line, raw, problems in checks.json_records(f, summary, part):
        if index != FILE:
            count += 1
        if problems or raw is None:
            run.invalid(f, index, line, _raw_id(raw), problems)
            continue
        if not run.writing:
            continue  # keep checking (the report lists every problem), write nothing
        if read is None:
            read, ctx = checks.reader(f, summary.format)
        try:
            rec = read(index, line, raw)
            changes = sink_for(f.split).write(rec)
        except RecordError as exc:
            run.invalid(f, index, line, _raw_id(raw), [exc.problem])
            continue
        except OSError as exc:
            problem = Problem(
                "image-missing",
                f"cannot read image: {exc.strerror}",
                ctx.where("$.images"),
                "a readable image file",
                getattr(exc, "filename", None) or "?",
            )
            run.invalid(f, index, line, _raw_id(raw), [problem])
            continue
        run.wrote(f, ctx.file, index, rec["id"], len(rec["images"]), changes)
        run.report.videos += len(rec["videos"])
        run.report.audios += len(rec["audios"])
    summary.records = count
    checks.report.records += count


def _raw_id(raw) -> str | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    return None if value is None else str(value)


def _copy_with_arrow_images(
    f: InputFile, fmt: str, sink: ParquetSink, run: _Run, summary: FileSummary, part=None
) -> None:
    """Parquet input in a record format with embedded images: text through the checks and the reader,
    image bytes stay in Arrow. Rows whose images are paths only go the row path (the files are read)."""
    checks = run.checks
    ctx = ReadContext(str(f.path), checks.root, checks.media_dir_of(f), columns=f.columns, tags=f.tags)
    file_fmt = None if fmt == "auto" else fmt
    file_fmt = file_fmt if part is None else part.fmt
    check = None
    count = 0 if part is None else part.rows[0]
    for rows, images in arrow_path.read_rows(f.path, None if part is None else part.rows):
        keep, records, row_path = [], [], False
        for row in rows:
            ctx.record = count
            if check is None:
                file_fmt = file_fmt or f.fmt or format_of(row, ctx)
                summary.format = file_fmt
                check = checks.record_check(f, file_fmt)
            problems = check(count, None, row)
            rec = None
            if not problems:
                try:
                    rec = FORMATS[file_fmt].to_canonical(row, ctx)
                except RecordError as exc:
                    problems = [exc.problem]
            if problems:
                run.invalid(f, count, None, _raw_id(row), problems)
            else:
                row_path = row_path or bool(rec["videos"] or rec["audios"])
                row_path = row_path or any(im["bytes"] is None for im in rec["images"])
                records.append((count, rec))
            keep.append(not problems)
            count += 1
        if not run.writing or not records:
            continue
        if row_path:  # some images are paths only: read the files, record by record
            for index, rec in records:
                run.wrote(f, ctx.file, index, rec["id"], len(rec["images"]), sink.write(rec))
            continue
        kept = images if all(keep) else images.filter(keep)
        table = arrow_path.records_table([rec for _, rec in records], arrow_path.canonical_images(kept))
        sink.writer.write_batch(table)
        for index, rec in records:
            run.wrote(f, ctx.file, index, rec["id"], len(rec["images"]), [])
    first = 0 if part is None else part.rows[0]
    summary.records = count - first
    checks.report.records += count - first


def _relative(file: str, root: Path) -> str:
    path = Path(file).resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _copy_canonical(f: InputFile, sink: ParquetSink, run: _Run, part=None) -> None:
    """Canonical shard -> the writer, batch by batch, each row checked (image headers from the bytes)."""
    import pyarrow.compute as pc

    checks = run.checks
    count = first = 0 if part is None else part.rows[0]
    for batch in arrow_path.iter_batches(f.path, None if part is None else part.rows):
        rows, _ = arrow_path.rows_with_images(batch, "images")
        keep = []
        for rec in rows:
            problems = checks.row_problems(f, rec, count)
            if problems:
                run.invalid(f, count, None, rec.get("id"), problems)
            keep.append(not problems)
            count += 1
        if not run.writing:
            continue
        kept = batch if all(keep) else batch.filter(keep)
        if "videos" not in kept.schema.names:  # a legacy shard: it has none
            kept = arrow_path.with_empty_media(kept)
        sink.writer.write_batch(kept)
        images = pc.sum(pc.list_value_length(kept.column("images"))).as_py() or 0
        run.report.rows[f.split] = run.report.rows.get(f.split, 0) + kept.num_rows
        run.report.images += images
        run.bar.advance(kept.num_rows, images=images)
    run.checks.report.records += count - first
