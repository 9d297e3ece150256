"""`vlmdata download`: a source (built-in, Hub repo or local folder) -> a ready dataset folder.

    download(DownloadOptions("naruto", "data/naruto"))
      -> DownloadReport(rows={"train": 1221}, skipped=[], files=["train-00000-of-00001.parquet", ...])

    data/naruto/
      train-00000-of-00001.parquet     canonical records (vlmdata.record.ARROW_SCHEMA), images embedded
      validation-00000-of-00001.parquet   when the source has a validation split, or --val-ratio > 0
      README.md                        dataset card; YAML `configs` so datasets.load_dataset(DIR) works
      manifest.json                    repo, revision, subsets, rows per split, sha256 per file, options,
                                       every skipped row and why
      dataset_info.json                LLaMA-Factory entries (--format sharegpt only; see below)

How it reads: each config's data files are listed by `datasets.load_dataset_builder`, then read one file
at a time with `datasets.load_dataset(path, config, data_files=...)` (streamed with --streaming), as Arrow
batches with images left undecoded. A file is the unit of `--shard i/N` (file k goes to part k mod N), so
parts are disjoint, cover the source, and need no coordination. Row ids name the file and the row
(`ai2d-train-00003-000012`), so they are the same whichever part or run produced them.

What it guarantees: a row validate refuses (a corrupt or missing image, a malformed conversation) stops
the run after its source file with validate's report (file, row, JSON path, expected, found) and nothing
written; with --skip-invalid, output rows = rows read - rows skipped, and every skipped row is listed in
manifest.json with its file, row and reason. Everything is written to a temporary folder that
replaces `out` only when complete: an interrupted run leaves `out` as it was. Each finished source file's
rows are kept in `.<out>.download/` (vlmdata.download_state), so rerunning the same command resumes
after the last finished file; a different command starts over.

LLaMA-Factory: its sharegpt reader needs string contents with `<image>` markers, which canonical Parquet
(typed content parts) is not, so dataset_info.json is written for `--format sharegpt` output only.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from vlmdata import errors
from vlmdata.download_outputs import card, clean_stale, convert_to, manifest
from vlmdata.download_plan import (
    Unit,
    fingerprint,
    load_kwargs,
    loading_error,
    local_format_dataset,
    plan,
    plan_local,
    short,
)
from vlmdata.download_state import SPLITS, Checkpoint
from vlmdata.errors import InvalidDataError, Problem, UsageError, VlmDataError
from vlmdata.formats import FORMATS, parquet
from vlmdata.images import inspect
from vlmdata.io import DEFAULT_MAX_SHARD_BYTES, ShardWriter, atomic_output_dir
from vlmdata.progress import progress
from vlmdata.sources import RowRef, Source, SourceOptions, get_source
from vlmdata.sources.hub import Location, NetworkError, locate
from vlmdata.validate.canonical import check_canonical

MANIFEST = "manifest.json"
BATCH_ROWS = 64


@dataclass
class DownloadOptions:
    source: str
    out: str
    subsets: tuple[str, ...] = ()
    split: str = "train"
    num_train_samples: int | None = None  # per config (per the_cauldron subset): the first N rows
    num_val_samples: int | None = None
    val_ratio: float = 0.0  # only when the source has no validation split
    seed: int = 0
    revision: str | None = None
    streaming: bool = False
    num_proc: int | None = None
    shard: tuple[int, int] | None = None  # (i, N)
    format: str = parquet.NAME
    allow_lossy: bool = False  # JSON formats that can't express a record (see vlmdata.convert)
    skip_invalid: bool = False  # write the valid rows, list the others (default: a bad row stops the run)
    hub_mirror: str | None = None
    repo: str | None = None
    prompt: str | None = None
    prompts_file: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    cache_dir: str | None = None
    overwrite: bool = False
    quiet: bool = True
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES


@dataclass
class DownloadReport:
    out: str
    repo: str
    loaded_from: str
    rows: dict[str, int] = field(default_factory=dict)
    rows_read: int = 0
    images: int = 0
    skipped: list[dict] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def parse_shard(text: str) -> tuple[int, int]:
    """ "2/8" -> (2, 8)"""
    i, sep, n = text.partition("/")
    if sep and i.isdigit() and n.isdigit() and 0 <= int(i) < int(n):
        return int(i), int(n)
    raise UsageError(f"bad --shard {text!r}: write i/N with 0 <= i < N, e.g. --shard 0/8")


def download(opts: DownloadOptions) -> DownloadReport:
    with _without_torch():
        return _download(opts)


@contextmanager
def _without_torch():
    """datasets' IterableDataset imports torch whenever it is installed (to share the epoch with torch
    DataLoader workers): 2-6 s and ~500 MB that `vlmdata` never needs. Hide it while downloading."""
    import datasets

    before = datasets.config.TORCH_AVAILABLE
    datasets.config.TORCH_AVAILABLE = False
    try:
        yield
    finally:
        datasets.config.TORCH_AVAILABLE = before


def _download(opts: DownloadOptions) -> DownloadReport:
    if opts.format not in FORMATS:
        raise UsageError(f"unknown --format {opts.format!r}; choose one of {', '.join(FORMATS)}")
    if not 0.0 <= opts.val_ratio < 1.0:
        raise UsageError(f"--val-ratio must be in [0, 1), found {opts.val_ratio}")
    source = get_source(
        opts.source,
        SourceOptions(opts.subsets, opts.repo, opts.prompt, opts.prompts_file, dict(opts.columns), opts.seed),
    )
    loc = Location(source.repo, "local") if getattr(source, "local", False) else None
    loc = loc or locate(source.repo, opts.hub_mirror, opts.revision)
    report = DownloadReport(str(opts.out), source.repo, loc.kind, notices=[loc.notice] if loc.notice else [])
    if loc.notice and not opts.quiet:
        import click

        click.echo(loc.notice, err=True)
    _quiet_datasets(opts.quiet)
    local = local_format_dataset(source.repo) if loc.kind == "local" else None
    if local is not None:
        units, configs, totals = plan_local(local, opts), [None], {}
        units = units[opts.shard[0] :: opts.shard[1]] if opts.shard else units
    else:
        units, configs, totals = plan(source, loc, opts)
    out = Path(opts.out)
    clean_stale(out)
    if out.exists() and not opts.overwrite:
        raise UsageError(f"output folder {out} already exists; pass --overwrite to replace it")
    checkpoint = Checkpoint(out, fingerprint(opts, loc, units), opts.max_shard_bytes)
    if checkpoint.done:
        notice = f"Resuming: {len(checkpoint.done)} of {len(units)} source file(s) were already done."
        report.notices.append(notice)
        if not opts.quiet:
            import click

            click.echo(notice, err=True)
    try:
        _write(source, loc, opts, units, configs, totals, checkpoint, report, local)
    except (KeyboardInterrupt, NetworkError):
        raise  # keep the finished files: the same command resumes
    except BaseException:
        if not checkpoint.done:
            checkpoint.remove()
        raise
    checkpoint.remove()
    return report


def _write(source, loc, opts, units, configs, totals, checkpoint, report, local) -> None:
    with atomic_output_dir(opts.out, opts.overwrite) as tmp:
        total = sum(totals.values()) if totals and not opts.shard else None
        with progress(f"downloading {source.repo}", total=total, quiet=opts.quiet) as bar:
            _read(source, loc, opts, units, checkpoint, report, bar, local)
        target = FORMATS[opts.format]
        canonical = tmp if target.CANONICAL else tmp / ".canonical"
        canonical.mkdir(exist_ok=True)
        kept = report.rows_read - len(report.skipped)
        with progress("writing shards", total=kept, quiet=opts.quiet) as bar:
            for split in SPLITS:
                writer = ShardWriter(canonical, split, opts.max_shard_bytes)
                checkpoint.merge(split, writer, bar)
                writer.close()
                if writer.rows:
                    report.rows[split] = writer.rows
        if not report.rows:
            raise VlmDataError(
                f"{source.repo}: no rows to write ({report.rows_read} read, {len(report.skipped)} skipped); "
                "nothing was written. Check --subset, --split and the --num-*-samples caps"
            )
        if not target.CANONICAL:
            convert_to(canonical, tmp, opts.format, opts.quiet, opts.allow_lossy, name=Path(opts.out).name)
        data_files = sorted(p.name for p in tmp.iterdir() if p.is_file())
        report.files = data_files + ["README.md", MANIFEST]
        info = manifest(source, loc, opts, configs, report, tmp, data_files)
        (tmp / MANIFEST).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
        (tmp / "README.md").write_text(card(source, loc, opts, configs, report, data_files))


# -- reading ------------------------------------------------------------------------------------------
def _read(
    source: Source, loc: Location, opts: DownloadOptions, units, checkpoint, report, bar, local
) -> None:
    """Convert every unit's rows into the checkpoint, in source order; finished units are not read again."""
    counts: dict[tuple, int] = {}
    caps = {"train": opts.num_train_samples, "validation": opts.num_val_samples}
    prepared: set = set()

    def full(config, role) -> bool:
        roles = ("train", "validation") if role == "carve" and opts.val_ratio else ("train",)
        roles = roles if role == "carve" else (role,)
        return all(caps[r] is not None and counts.get((config, r), 0) >= caps[r] for r in roles)

    todo = [u for k, u in enumerate(units) if k not in checkpoint.done]
    opened_units = _opened(todo, loc, opts, local)
    try:
        for k, unit in enumerate(units):
            meta = checkpoint.done.get(k)
            if meta is None:
                _, opened = next(opened_units)
                if full(unit.config, unit.role):
                    continue
                writers = checkpoint.writers(k)
                meta = _read_unit(
                    source, loc, opts, unit, opened, local, prepared, writers, caps, counts, full, bar
                )
                if meta.get("problems"):
                    raise InvalidDataError(
                        meta["problems"], meta["bad"], meta["rows_read"], str(opts.out),
                        f"Reading stopped after {short(unit.file, loc)}. Pass --skip-invalid to write the "
                        "valid rows and list every skipped one in manifest.json under 'skipped'.",
                    )  # fmt: skip
                checkpoint.finish(k, writers, meta)
            else:  # done in an earlier, interrupted run
                for role, n in meta["counts"].items():
                    counts[(unit.config, role)] = counts.get((unit.config, role), 0) + n
                bar.advance(meta["rows_read"], images=meta["images"])
            report.rows_read += meta["rows_read"]
            report.images += meta["images"]
            report.skipped += meta["skipped"]
    finally:
        opened_units.close()  # stops background prefetches on errors too


def _read_unit(source, loc, opts, unit, opened, local, prepared, writers, caps, counts, full, bar) -> dict:
    meta: dict = {"rows_read": 0, "images": 0, "counts": {}, "skipped": []}
    try:
        rows = _local_rows(source, local, unit) if local else _hub_rows(source, opened(), unit, prepared)
        for ref, rec in rows:
            role = unit.role
            if role == "carve":
                role = "validation" if _to_validation(rec["id"], opts) else "train"
            if caps[role] is not None and counts.get((unit.config, role), 0) >= caps[role]:
                if full(unit.config, unit.role):
                    break
                continue  # past this split's cap; the other split may still take rows
            meta["rows_read"] += 1
            problems = _row_problems(rec)
            if problems and opts.skip_invalid:
                meta["skipped"].append(_skip(rec, unit, ref, _reason(problems), loc))
            elif problems:  # the run stops after this file: validate's report, nothing written
                for p in problems:
                    p.where = errors.Location(short(unit.file, loc), ref.row, None, p.where.path)
                meta.setdefault("problems", []).extend(problems)
                meta["bad"] = meta.get("bad", 0) + 1
            else:
                writers[role].write(rec)
                meta["images"] += len(rec["images"])
            counts[(unit.config, role)] = counts.get((unit.config, role), 0) + 1
            meta["counts"][role] = meta["counts"].get(role, 0) + 1
            nbytes = sum(len(i["bytes"] or b"") for i in rec["images"])
            bar.advance(1, images=len(rec["images"]), nbytes=nbytes)
            if full(unit.config, unit.role):
                break
    except VlmDataError:
        raise
    except Exception as exc:
        raise loading_error(exc, loc, unit.file) from None
    return meta


def _open(loc: Location, opts: DownloadOptions, unit: Unit):
    """One data file as a `datasets` Dataset (downloaded and prepared) or IterableDataset (--streaming)."""
    import datasets

    return datasets.load_dataset(
        loc.path,
        unit.config,
        data_files={unit.split: [unit.file]},
        split=unit.split,
        streaming=opts.streaming,
        **load_kwargs(loc, opts),
    )


def _opened(units: list[Unit], loc: Location, opts: DownloadOptions, local):
    """(unit, open) in order, `open()` giving the unit's dataset. With --num-proc N > 1 the next N units
    are fetched and prepared in background threads while the current one is converted (network and
    Arrow work release the GIL); rows still come out in source order."""
    workers = opts.num_proc or 1
    if local is not None or workers == 1:
        for unit in units:
            yield unit, (lambda unit=unit: _open(loc, opts, unit))
        return
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(_open, loc, opts, u) for u in units[:workers]]
        for k, unit in enumerate(units):
            if k + workers < len(units):
                futures.append(pool.submit(_open, loc, opts, units[k + workers]))
            yield unit, futures[k].result
            futures[k] = None  # let the finished dataset be freed
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # an error or Ctrl-C does not wait for prefetches


def _hub_rows(source: Source, ds, unit: Unit, prepared: set):
    """(RowRef, record) for each row of one data file, read as Arrow batches with images undecoded."""
    if unit.config not in prepared:
        source.prepare(ds.features)
        prepared.add(unit.config)
    row_index = 0
    for batch in ds.with_format("arrow").iter(batch_size=BATCH_ROWS):
        for row in batch.to_pylist():
            ref = RowRef(unit.config, unit.split, unit.file_index, row_index)
            row_index += 1
            yield ref, source.to_record(row, ref)


def _local_rows(source: Source, dataset, unit: Unit):
    from vlmdata.convert import read_records
    from vlmdata.inputs import Dataset

    f = dataset.files[unit.file_index]
    for _, ctx, rec in read_records(Dataset(dataset.root, [f], dataset.dataset_info)):
        rec["source"] = rec["source"] or source.label(None)
        yield RowRef(None, unit.split, unit.file_index, ctx.record), rec


def _to_validation(rid: str, opts: DownloadOptions) -> bool:
    """The same row goes to the same split on every run and in every --shard part."""
    digest = hashlib.sha256(f"{opts.seed}:val:{rid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < opts.val_ratio


def _row_problems(rec: dict) -> list[Problem]:
    """validate's checks of a canonical row (vlmdata.validate.canonical) and the image header check
    every command runs (vlmdata.images.inspect): [] when the row is fine. Locations hold the JSON path."""
    for k, image in enumerate(rec["images"]):
        if image.get("bytes") is None:
            path = image.get("path")
            if not path or not os.path.isfile(path):
                return [
                    Problem("image-missing", f"image {k} has no bytes and no readable file ({path!r})",
                            errors.Location(path=f"$.images[{k}]"), "image bytes or a readable file", repr(path))
                ]  # fmt: skip
            with open(path, "rb") as fh:
                rec["images"][k] = {"bytes": fh.read(), "path": os.path.basename(path)}
    problems, refs = check_canonical(rec)
    for jpath, image, kind in refs:
        found = inspect(image["bytes"]) if kind == "image" else None
        if found:
            code, message, expected, got, fix = found
            k = jpath[len("$.images[") : -1]
            where = errors.Location(path=jpath)
            return [Problem(code, f"image {k} is not a readable image: {message}", where, expected, got, fix)]
    return problems


def _reason(problems: list[Problem]) -> str:
    """The manifest's one-line reason for a skipped row."""
    return "; ".join(
        p.message if p.message.startswith("image ") else f"{p.where.path}: {p.message}" for p in problems
    )


def _skip(rec: dict, unit: Unit, ref: RowRef, problem: str, loc: Location) -> dict:
    return {
        "id": rec["id"],
        "config": unit.config,
        "split": unit.split,
        "file": short(unit.file, loc),
        "row": ref.row,
        "reason": problem,
    }


def _quiet_datasets(quiet: bool) -> None:
    import sys

    import datasets

    datasets.utils.logging.set_verbosity_error()
    if quiet or not sys.stderr.isatty():
        datasets.disable_progress_bars()
