"""`validate`: every problem in a dataset, each with file, record, line, JSON path, expected and found.

    report = validate("data/lf")                      # a folder, a dataset_info.json folder, or one file
    report.ok -> False
    report.problems[0].describe()
      -> "data/lf/train.jsonl:12 record 11 $.images: number of images (1) does not match number of
          <image> placeholders (2) (expected 2, found 1)"

Per record (`vlmdata.validate.run.Checks`, which `convert` runs too): the format's JSON Schema
(jsonschema_rs yes/no; jsonschema's messages only for failures), then the format module's semantic
checks on the raw record, then the image checks (inside the dataset folder or an existing absolute
path, opens within the pixel limit). The checks agree with the format readers
(tests/test_schemas.py): what passes here, `convert` reads. Canonical Parquet shards get
an Arrow schema check and the same checks per row, with image headers read from the stored bytes.
"""

from __future__ import annotations

import time
from pathlib import Path

from vlmdata.errors import Location, Problem, RecordError, UsageError
from vlmdata.formats import INPUT_CHOICES
from vlmdata.images import DEFAULT_MAX_PIXELS, own_pixel_limit
from vlmdata.inputs import InputFile, iter_raw
from vlmdata.shards import layout
from vlmdata.token_counting import load_token_counter
from vlmdata.validate import columnar, parallel
from vlmdata.validate.canonical import check_arrow_schema
from vlmdata.validate.report import FileSummary, ValidationReport, render
from vlmdata.validate.run import FILE, Checks
from vlmdata.videos import DEFAULT_MAX_VIDEO_PIXELS, INSTALL_HINT


def image_mode(check_images: bool, open_images: bool = True) -> str:
    return "full" if check_images else "header" if open_images else "exists"


def video_options(check_videos: bool, max_video_pixels: int) -> dict:
    """ImageChecker's video settings from the --check-videos and --max-video-pixels options."""
    if max_video_pixels < 1:
        raise UsageError(f"--max-video-pixels must be positive, got {max_video_pixels}")
    return {"full_videos": check_videos, "max_video_pixels": max_video_pixels}


def unopened_videos(checks: Checks) -> list[str]:
    """The notice validate and convert give when PyAV is missing: videos were only told by container."""
    n = checks.images.videos_unopened
    if not n:
        return []
    return [
        f"{n} video file(s) not opened (only the container type was checked): PyAV is not installed; "
        f"{INSTALL_HINT} to check their duration, frames and size"
    ]


def validate(
    path,
    fmt: str = "auto",
    check_images: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    model: str | None = None,
    max_length: int | None = None,
    open_images: bool = True,
    media_dir: str | Path | None = None,
    check_videos: bool = False,
    max_video_pixels: int = DEFAULT_MAX_VIDEO_PIXELS,
    check_files=None,
) -> ValidationReport:
    """Check a dataset and return every problem found (it raises only for usage errors).

    check_images: decode every image fully (default: read headers only).
    open_images=False: check only that images exist and stay inside the folder (no file is opened).
    model/max_length: also count tokens per record with the installed token counter
    (`vlmdata.token_counting`; vlmkit's [train] extra provides one): report.tokens.
    media_dir: the folder relative image paths resolve against (default: each data file's folder),
    as for `convert --media-dir`; images must stay inside the dataset folder or media_dir.
    check_videos: decode every frame of every video (default: the container header and the first frame);
    max_video_pixels: the largest video frame allowed (vlmdata.videos).
    check_files(checks, open_args): fills checks.report in place of this process's loop over the files
    (vlmdata.ray.validate.validate passes its own: the checks run on a Ray cluster's workers).
    """
    if fmt not in INPUT_CHOICES:
        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(INPUT_CHOICES)}")
    if max_pixels < 1:
        raise UsageError(f"--max-pixels must be positive, got {max_pixels}")
    if (model is None) != (max_length is None):
        raise UsageError("--model and --max-length go together: pass both or neither")
    counter = load_token_counter(model, max_length) if model else None
    start = time.perf_counter()
    videos = video_options(check_videos, max_video_pixels)
    open_args = (
        path,
        fmt,
        image_mode(check_images, open_images),
        max_pixels,
        media_dir,
        videos["full_videos"],
        videos["max_video_pixels"],
    )  # Checks.open's order
    checks = Checks.open(*open_args)
    collected: list[tuple[Location, dict]] | None = [] if counter is not None else None
    if check_files is not None:  # e.g. on a Ray cluster's workers (vlmdata.ray.validate), same report
        check_files(checks, open_args)
    with own_pixel_limit():
        for f in checks.dataset.files if check_files is None else ():
            _validate_file(f, checks, collected)
    report = checks.report
    if counter is not None:
        counts = counter.count(collected)
        report.tokens = counts
        report.problems.extend(counts.problems)
        # only records that passed the data checks are counted, so these are new bad records
        report.bad_records += len({(p.where.file, p.where.record) for p in counts.problems})
    report.images = checks.images.checked
    report.videos = checks.images.videos
    report.skipped.extend(unopened_videos(checks))
    report.images_outside = checks.images.outside
    report.seconds = time.perf_counter() - start
    return report


def _validate_file(f: InputFile, checks: Checks, collected, body=None) -> None:
    """One file's checks into checks.report. body(f, checks, summary): checks the records instead of
    this module's readers (the Ray engine merges its workers' results there)."""
    summary = FileSummary(str(f.path), None)
    checks.report.files.append(summary)
    problems = checks.report.problems
    before = len(problems)
    try:
        if body is not None:
            body(f, checks, summary)
        elif f.kind == "parquet" and layout(f.path) is not None:
            _validate_parquet(f, checks, summary, collected)
        else:
            _validate_json(f, checks, summary, collected)
    except RecordError as exc:  # a whole-file problem: unreadable, not UTF-8, malformed JSON
        problems.append(exc.problem)
    except OSError as exc:  # permissions, a file vanishing mid-run, I/O errors
        problems.append(
            Problem(
                "io",
                f"cannot read file: {exc.strerror or exc}",
                Location(str(f.path)),
                "a readable file",
                "unreadable",
            )
        )
    if summary.records == 0 and len(problems) == before:
        problems.append(
            Problem(
                "empty-file", "file holds no records", Location(str(f.path)), "at least one record", "none"
            )
        )
    summary.problems = len(problems) - before


def _validate_json(f: InputFile, checks: Checks, summary: FileSummary, collected) -> None:
    problems = checks.report.problems
    fast = collected is None and f.kind == "jsonl" and f.lf is None
    if fast or parallel.eligible(f, collected is not None):
        fmt, _ = checks.detect(iter_raw(f, on_error=lambda problem: None), f)
        done = columnar.validate_file(checks, f, fmt) if fast and fmt is not None else None
        if done is None and fmt is not None and parallel.eligible(f, collected is not None):
            done = parallel.validate_spans(checks, f, fmt, parallel.jobs_available())
        if done is not None:  # else the serial path (it also says why the format is unknown)
            found, count, bad = done
            summary.format = fmt
            problems.extend(found)
            summary.records = count
            checks.report.records += count
            checks.report.bad_records += bad
            return
    read = None
    count = bad = 0
    for index, line, raw, found in checks.json_records(f, summary):
        if index == FILE:  # a whole-file problem
            problems.extend(found)
            continue
        count += 1
        if not found and collected is not None:
            # Token counting needs canonical records: the format's reader makes them. (It is not run
            # otherwise, for speed; tests/test_schemas.py checks the readers accept what passes here.)
            if read is None:
                read, _ = checks.reader(f, summary.format)
            try:
                collected.append((Location(str(f.path), index, line), read(index, line, raw)))
            except RecordError as exc:
                found = [exc.problem]
        if found:
            bad += 1
            problems.extend(found)
    summary.records = count
    checks.report.records += count
    checks.report.bad_records += bad


def _validate_parquet(f: InputFile, checks: Checks, summary: FileSummary, collected) -> None:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(f.path)
    problems = checks.report.problems
    summary.format = "canonical"
    schema_problems = check_arrow_schema(f.path, pf.schema_arrow)
    problems.extend(schema_problems)
    wrong = [p.where.path for p in schema_problems if p.where.path in ("$.messages", "$.images")]
    if wrong:  # rows of another shape: checking them as canonical would only repeat the schema problem
        checks.report.skipped.append(
            f"{f.path}: {pf.metadata.num_rows} row(s) not checked ({' and '.join(wrong)} not canonical)"
        )
        return
    count = bad = 0
    # batches never span row groups: memory holds one row group (a row with a video is one: vlmdata.io)
    batches = (b for rg in range(pf.num_row_groups) for b in pf.iter_batches(batch_size=256, row_groups=[rg]))
    for batch in batches:
        for rec in batch.to_pylist():
            found = checks.row_problems(f, rec, count)
            if found:
                bad += 1
                problems.extend(found)
            elif collected is not None:
                collected.append((Location(str(f.path), count), rec))
            count += 1
    summary.records = count
    checks.report.records += count
    checks.report.bad_records += bad


__all__ = ["DEFAULT_MAX_PIXELS", "ValidationReport", "render", "validate"]
