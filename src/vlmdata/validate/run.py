"""validate's checks as iterators, so that `validate` and `convert` run the very same code.

    checks = Checks.open("data/lf", fmt="auto", mode="header")     # dataset_info.json problems in
    checks.report.problems                                        # checks.report already
    for index, line, raw, problems in checks.json_records(f, summary):
        ...   # problems: [] for a valid record; index None for a whole-file problem

    checks.row_problems(f, rows, first)  # canonical Parquet rows (image bytes as memoryviews) -> problems

Per record: the format's JSON Schema (jsonschema_rs yes/no; jsonschema's messages only for failures),
the format module's semantic checks (`FORMATS[name].check`) on the raw record, the image checks
(inside the dataset folder or an existing absolute path, the header within the pixel limit), and for a
dataset that dataset_info.json declares for LLaMA-Factory, what LLaMA-Factory itself would refuse.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from vlmdata.checks import check_llamafactory
from vlmdata.dataset_info import INFO_FILE, has_dataset_info
from vlmdata.errors import Location, Problem, UsageError
from vlmdata.formats import FORMATS, RECORD_FORMATS, detect_format, spelled
from vlmdata.formats.base import ReadContext
from vlmdata.inputs import Dataset, InputFile, discover, iter_raw
from vlmdata.validate.canonical import check_canonical
from vlmdata.validate.images import ImageChecker
from vlmdata.validate.lf import column_types, wrapped_problem
from vlmdata.validate.report import FileSummary, ValidationReport
from vlmdata.validate.schema import Renamer, SchemaChecker, needs_renaming
from vlmdata.validate.sources import check_dataset_info, column_problems
from vlmdata.videos import DEFAULT_MAX_VIDEO_PIXELS

DETECT_WINDOW = 1000  # records looked at to tell a file's format before giving up
FILE = -1  # the index of whole-file problems in json_records' items
Item = tuple[int | None, int | None, dict | None, list[Problem]]


@dataclass(frozen=True)
class Part:
    """One piece of a file, the unit the Ray engine hands a worker: a JSONL byte range (span, with the
    records and lines before it as start) or a range of Parquet rows (rows, a multiple of
    arrow_path.BATCH_ROWS at the start), read in the format the whole file was told to be (fmt)."""

    fmt: str | None
    span: tuple[int, int] | None = None
    start: tuple[int, int] = (0, 0)
    rows: tuple[int, int] | None = None


class Checks:
    """State shared by the files of one dataset: options, caches, the report being filled."""

    def __init__(self, dataset: Dataset, fmt: str, images: ImageChecker, media_dir: Path | None):
        self.dataset = dataset
        self.fmt = fmt
        self.images = images
        self.media_dir = media_dir
        self.report = ValidationReport(str(dataset.root))
        self._schemas: dict[str, SchemaChecker] = {}

    @classmethod
    def open(cls, path, fmt: str, mode: str, max_pixels: int, media_dir=None, full_videos: bool = False,
             max_video_pixels: int = DEFAULT_MAX_VIDEO_PIXELS) -> Checks:  # fmt: skip
        """The dataset at `path` (a folder, a dataset_info.json folder or one file), read as validate and
        convert read it; dataset_info.json problems land in `report.problems`. full_videos,
        max_video_pixels: ImageChecker's video settings (vlmdata.validate.video_options)."""
        root = Path(path)
        info_problems: list[Problem] = []
        skipped: list[str] = []
        if has_dataset_info(root):
            files, info_problems, skipped = check_dataset_info(root)
            dataset = Dataset(root.resolve(), files, {})
        else:
            dataset = discover(root)
        base = Path(media_dir).resolve() if media_dir else None
        if base is not None and not base.is_dir():
            raise UsageError(f"--media-dir {media_dir} is not a folder")
        # The folder relative image paths must stay inside: the dataset's, or --media-dir above it.
        allowed = base if base is not None and dataset.root.is_relative_to(base) else dataset.root
        checks = cls(
            dataset,
            fmt,
            ImageChecker(
                allowed, mode, max_pixels, full_videos=full_videos, max_video_pixels=max_video_pixels
            ),
            base,
        )
        checks.report.problems.extend(info_problems)
        checks.report.skipped.extend(skipped)
        return checks

    @property
    def root(self) -> Path:
        """Relative image paths resolve inside this folder (the readers' ReadContext.root)."""
        return Path(self.images.root)

    def media_dir_of(self, f: InputFile) -> Path:
        return self.media_dir or f.path.parent.resolve()

    def schema(self, name: str) -> SchemaChecker:
        if name not in self._schemas:
            self._schemas[name] = SchemaChecker(name)
        return self._schemas[name]

    def detect(self, records, f: InputFile) -> tuple[str | None, list]:
        """A file's format: forced (dataset_info.json, --format) or told from its first records."""
        if f.fmt or self.fmt != "auto":
            return f.fmt or self.fmt, []
        seen = []
        for item in records:
            seen.append(item)
            name = detect_format(item[2])
            if name or len(seen) >= DETECT_WINDOW:
                return name, seen
        return None, seen

    def json_records(self, f: InputFile, summary: FileSummary, part: Part | None = None) -> Iterator[Item]:
        """(index, line, raw, problems) for every record of a JSON/JSONL file or of a Parquet file in a
        record format; bad lines come with raw None, whole-file problems with index FILE.
        part: only the JSONL lines of one byte range, in the format the whole file was told to be
        (the Ray engine's unit of work; a file with dataset_info.json column checks is not split)."""
        bad_lines: list[Problem] = []
        if part is not None:
            records = iter_raw(f, on_error=bad_lines.append, span=part.span, start=part.start)
            fmt, head = part.fmt, []
        else:
            records = iter_raw(f, on_error=bad_lines.append)
            fmt, head = self.detect(records, f)
        summary.format = fmt
        if fmt is None:
            yield from ((p.where.record, p.where.line, None, [p]) for p in bad_lines)
            if head:
                keys = ", ".join(sorted(head[0][2])[:8]) or "no keys"
                problem = Problem(
                    "format",
                    "cannot tell the record format",
                    Location(str(f.path)),
                    f"{spelled()} records",
                    f"keys {keys}",
                    f"pass --format {'|'.join(RECORD_FORMATS)}",
                )
                self.report.skipped.append(f"{f.path}: {len(head)} record(s) not checked (unknown format)")
                yield FILE, None, None, [problem]
            return
        check = self.record_check(f, fmt)
        types = column_types() if f.lf is not None else None
        seen_keys: set | None = set() if f.lf is not None else None
        count = 0
        for index, line, raw in chain(head, records):
            while bad_lines:
                p = bad_lines.pop(0)
                count += 1
                yield p.where.record, p.where.line, None, [p]
            count += 1
            if seen_keys is not None:
                seen_keys.update(raw)
                types.add(raw, index, line)
            yield index, line, raw, check(index, line, raw)
        for p in bad_lines:
            count += 1
            yield p.where.record, p.where.line, None, [p]
        if seen_keys is not None:
            info = self.dataset.root / INFO_FILE
            found = column_problems(f, info, seen_keys, count) + types.problems(str(f.path))
            if f.notes:  # known once the file is read
                found.insert(0, wrapped_problem(f))
            if found:
                yield FILE, None, None, found

    def reader(self, f: InputFile, fmt: str):
        """read(index, line, raw) -> the canonical record, through the format's reader (a RecordError for
        a record it refuses), and the ReadContext it reads in (the record's location)."""
        to_canonical = FORMATS[fmt].to_canonical
        ctx = ReadContext(str(f.path), self.root, self.media_dir_of(f), columns=f.columns, tags=f.tags)

        def read(index: int, line: int | None, raw: dict) -> dict:
            ctx.record, ctx.line = index, line
            return to_canonical(raw, ctx)

        return read, ctx

    def record_check(self, f: InputFile, fmt: str):
        """check(index, line, raw) -> located problems of one raw record of this file ([] when valid)."""
        module = FORMATS[fmt]
        schema = self.schema(module.SCHEMA)
        is_valid, semantic = schema.is_valid, module.check
        rename = Renamer(f.columns, f.tags) if needs_renaming(f.columns, f.tags) else None
        lf = f.lf
        file = str(f.path)
        media_dir = str(self.media_dir_of(f))
        images = self.images
        rows_hold_bytes = f.kind == "parquet"

        def check(index, line, raw) -> list[Problem]:
            rec = rename(raw) if rename else raw
            if rows_hold_bytes:  # Parquet rows: image bytes JSON cannot hold are checked as text
                found = [] if schema.valid(rec) else schema.problems(rec)
            else:
                found = [] if is_valid(rec) else schema.problems(rec)
            sem, refs = semantic(rec)
            if sem:
                found += sem
            for jpath, value, kind in refs:
                img = images.check(value, jpath, media_dir, kind)
                if img:
                    found += img
            if lf is not None:
                known = {p.where.path for p in found}
                found += [
                    p for p in check_llamafactory(raw, lf[0]["messages"], lf[1]) if p.where.path not in known
                ]
            for p in found:
                path = rename.path_back(p.where.path) if rename else p.where.path
                p.where = Location(file, index, line, path)
            return found

        return check

    def row_problems(self, f: InputFile, rec: dict, index: int) -> list[Problem]:
        """One canonical Parquet row: normal form, turns, image counts, and each image's header."""
        found, refs = check_canonical(rec)
        if refs:
            media_dir = str(self.media_dir_of(f))
            for jpath, value, kind in refs:
                found += self.images.check(value, jpath, media_dir, kind)
        for p in found:
            p.where = Location(str(f.path), index, None, p.where.path)
        return found
