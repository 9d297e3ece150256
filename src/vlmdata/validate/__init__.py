"""`validate`: every problem in a dataset, each with file, record, line, JSON path, expected and found.

    report = validate("data/lf")                      # a folder, a dataset_info.json folder, or one file
    report.ok -> False
    report.problems[0].describe()
      -> "data/lf/train.jsonl:12 record 11 $.images: number of images (1) does not match number of
          <image> placeholders (2) (expected 2, found 1)"

Per record: the format's JSON Schema (jsonschema_rs yes/no; jsonschema's messages only for failures),
then the semantic checks of `vlmdata.checks` on the raw record, then the image checks (inside the
dataset folder, exists, opens within the pixel limit). The checks agree with the format readers
(tests/test_schemas.py): what passes here, `convert` reads. Canonical Parquet shards get
an Arrow schema check and the same checks per row, with image headers read from the stored bytes.
"""

from __future__ import annotations

import time
from itertools import chain
from pathlib import Path

from vlmdata.checks import CHECKS, check_llamafactory
from vlmdata.errors import Location, Problem, RecordError, UsageError
from vlmdata.formats import FORMATS, detect_format
from vlmdata.formats.base import ReadContext
from vlmdata.inputs import Dataset, InputFile, discover, iter_raw
from vlmdata.token_counting import load_token_counter
from vlmdata.validate.canonical import check_arrow_schema, check_canonical
from vlmdata.validate.images import DEFAULT_MAX_PIXELS, ImageChecker, own_pixel_limit
from vlmdata.validate.report import FileSummary, ValidationReport, render
from vlmdata.validate.schema import Renamer, SchemaChecker, needs_renaming
from vlmdata.validate.sources import check_dataset_info, column_problems

FORMAT_CHOICES = ("auto", *FORMATS)
_DETECT_WINDOW = 1000  # records looked at to tell a file's format before giving up


class _Run:
    """State shared by the files of one validation: options, caches, the report being filled."""

    def __init__(self, dataset: Dataset, fmt: str, images: ImageChecker, collect: bool):
        self.dataset = dataset
        self.fmt = fmt
        self.images = images
        self.collect = collect  # keep canonical records for the token-length check
        self.canonical: list[tuple[Location, dict]] = []
        self.report = ValidationReport(str(dataset.root))
        self._schemas: dict[str, SchemaChecker] = {}
        self.media_dir: Path | None = None

    def schema(self, name: str) -> SchemaChecker:
        if name not in self._schemas:
            self._schemas[name] = SchemaChecker(name)
        return self._schemas[name]


def validate(
    path,
    fmt: str = "auto",
    check_images: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    model: str | None = None,
    max_length: int | None = None,
    open_images: bool = True,
    media_dir: str | Path | None = None,
) -> ValidationReport:
    """Check a dataset and return every problem found (it raises only for usage errors).

    check_images: decode every image fully (default: read headers only).
    open_images=False: check only that images exist and stay inside the folder (no file is opened).
    model/max_length: also count tokens per record with the installed token counter
    (`vlmdata.token_counting`; vlmkit's [train] extra provides one): report.tokens.
    media_dir: the folder relative image paths resolve against (default: each data file's folder),
    as for `convert --media-dir`; images must stay inside the dataset folder or media_dir.
    """
    if fmt not in FORMAT_CHOICES:
        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMAT_CHOICES)}")
    if max_pixels < 1:
        raise UsageError(f"--max-pixels must be positive, got {max_pixels}")
    if (model is None) != (max_length is None):
        raise UsageError("--model and --max-length go together: pass both or neither")
    counter = load_token_counter(model, max_length) if model else None
    start = time.perf_counter()
    root = Path(path)
    info_problems: list[Problem] = []
    skipped: list[str] = []
    if root.is_dir() and (root / "dataset_info.json").exists():
        files, info_problems, skipped = check_dataset_info(root.resolve(), root / "dataset_info.json")
        dataset = Dataset(root.resolve(), files, {})
    else:
        dataset = discover(root)
    mode = "full" if check_images else "header" if open_images else "exists"
    base = Path(media_dir).resolve() if media_dir else None
    if base is not None and not base.is_dir():
        raise UsageError(f"--media-dir {media_dir} is not a folder")
    # The folder images must stay inside, as convert decides it (convert._common_root).
    allowed = base if base is not None and dataset.root.is_relative_to(base) else dataset.root
    run = _Run(dataset, fmt, ImageChecker(allowed, mode, max_pixels), collect=model is not None)
    run.media_dir = base
    run.report.problems.extend(info_problems)
    run.report.skipped.extend(skipped)
    with own_pixel_limit():
        for f in dataset.files:
            _validate_file(f, run)
    if counter is not None:
        counts = counter.count(run.canonical)
        run.report.tokens = counts
        run.report.problems.extend(counts.problems)
        # only records that passed the data checks are counted, so these are new bad records
        run.report.bad_records += len({(p.where.file, p.where.record) for p in counts.problems})
    run.report.images = run.images.checked
    run.report.seconds = time.perf_counter() - start
    return run.report


def _validate_file(f: InputFile, run: _Run) -> None:
    summary = FileSummary(str(f.path), None)
    run.report.files.append(summary)
    problems = run.report.problems
    before = len(problems)
    try:
        if f.kind == "parquet":
            _validate_parquet(f, run, summary)
        else:
            _validate_json(f, run, summary)
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


def _detect(records, f: InputFile, run: _Run) -> tuple[str | None, list]:
    """A file's format: forced (dataset_info.json, --format) or told from its first records."""
    if f.fmt or run.fmt != "auto":
        return f.fmt or run.fmt, []
    seen = []
    for item in records:
        seen.append(item)
        name = detect_format(item[2])
        if name or len(seen) >= _DETECT_WINDOW:
            return name, seen
    return None, seen


def _validate_json(f: InputFile, run: _Run, summary: FileSummary) -> None:
    problems = run.report.problems
    bad_lines: list[Problem] = []
    records = iter_raw(f, on_error=bad_lines.append)
    fmt, head = _detect(records, f, run)
    summary.format = fmt
    if fmt is None:
        problems.extend(bad_lines)
        if head:
            keys = ", ".join(sorted(head[0][2])[:8]) or "no keys"
            problems.append(
                Problem(
                    "format",
                    "cannot tell the record format",
                    Location(str(f.path)),
                    "oai, sharegpt or llava records",
                    f"keys {keys}",
                    "pass --format oai|sharegpt|llava",
                )
            )
            run.report.skipped.append(f"{f.path}: {len(head)} record(s) not checked (unknown format)")
        return
    schema = run.schema(fmt)
    is_valid, check = schema.is_valid, CHECKS[fmt]
    rename = Renamer(f.columns, f.tags) if needs_renaming(f.columns, f.tags) else None
    lf = getattr(f, "lf", None)  # (columns, tags) LLaMA-Factory uses, for dataset_info.json entries
    seen_keys: set | None = set() if lf else None
    file = str(f.path)
    media_dir = str(run.media_dir or f.path.parent.resolve())  # as convert resolves them
    reader = FORMATS[fmt].to_canonical
    ctx = ReadContext(file, Path(run.images.root), Path(media_dir), columns=f.columns, tags=f.tags)
    images, collect = run.images, run.collect
    count = bad = 0
    for index, line, raw in chain(head, records):
        if bad_lines:
            problems.extend(bad_lines)
            bad += len(bad_lines)
            count += len(bad_lines)
            bad_lines.clear()
        count += 1
        if seen_keys is not None:
            seen_keys.update(raw)
        rec = rename(raw) if rename else raw
        try:
            found = [] if is_valid(rec) else schema.problems(rec)
        except ValueError:  # bytes in a Parquet row: the slow path converts them
            found = schema.problems(rec)
        sem, refs = check(rec)
        if sem:
            found += sem
        for jpath, value in refs:
            img = images.check(value, jpath, media_dir)
            if img:
                found += img
        if lf is not None:
            known = {p.where.path for p in found}
            found += [
                p for p in check_llamafactory(raw, lf[0]["messages"], lf[1]) if p.where.path not in known
            ]
        if not found and collect:
            # Token counting needs canonical records: the format's reader makes them. (It is not run
            # otherwise, for speed; tests/test_schemas.py checks the readers accept what passes here.)
            ctx.record, ctx.line = index, line
            try:
                canonical = reader(raw, ctx)
            except RecordError as exc:
                found.append(exc.problem)
            else:
                run.canonical.append((Location(file, index, line), canonical))
        if found:
            bad += 1
            for p in found:
                path = rename.path_back(p.where.path) if rename else p.where.path
                p.where = Location(file, index, line, path)
            problems.extend(found)
    if bad_lines:
        problems.extend(bad_lines)
        bad += len(bad_lines)
        count += len(bad_lines)
    summary.records = count
    run.report.records += count
    run.report.bad_records += bad
    if seen_keys is not None:
        problems.extend(column_problems(f, run.dataset.root / "dataset_info.json", seen_keys, count))


def _validate_parquet(f: InputFile, run: _Run, summary: FileSummary) -> None:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(f.path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise RecordError(
            Problem(
                "parquet",
                f"cannot read Parquet file: {exc}",
                Location(str(f.path)),
                "a Parquet file",
                "unreadable",
            )
        ) from None
    schema = pf.schema_arrow
    names = set(schema.names)
    problems = run.report.problems
    if not {"id", "messages", "images", "source"} <= names:  # not canonical: rows in one of the JSON formats
        _validate_json(f, run, summary)
        return
    summary.format = "canonical"
    schema_problems = check_arrow_schema(f.path, schema)
    problems.extend(schema_problems)
    wrong = [p.where.path for p in schema_problems if p.where.path in ("$.messages", "$.images")]
    if wrong:  # rows of another shape: checking them as canonical would only repeat the schema problem
        run.report.skipped.append(
            f"{f.path}: {pf.metadata.num_rows} row(s) not checked ({' and '.join(wrong)} not canonical)"
        )
        return
    file = str(f.path)
    media_dir = str(run.media_dir or f.path.parent.resolve())
    check, images = check_canonical, run.images
    count = bad = 0
    for batch in pf.iter_batches(batch_size=256):
        for rec in batch.to_pylist():
            found, refs = check(rec)
            for jpath, value in refs:
                found += images.check(value, jpath, media_dir)
            if found:
                bad += 1
                for p in found:
                    p.where = Location(file, count, None, p.where.path)
                problems.extend(found)
            elif run.collect:
                run.canonical.append((Location(file, count), rec))
            count += 1
    summary.records = count
    run.report.records += count
    run.report.bad_records += bad


__all__ = ["DEFAULT_MAX_PIXELS", "FORMAT_CHOICES", "ValidationReport", "render", "validate"]
