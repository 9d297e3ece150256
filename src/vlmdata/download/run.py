"""`vlmdata download`'s driver: plan, read every source file into the checkpoint, write the output folder
(the package docstring says what it writes and guarantees). It prints nothing: notices go into the
report (and to `on_notice` as they happen); `datasets` settings it needs are set for the call only.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

from vlmdata import errors
from vlmdata.atomic import atomic_output_dir
from vlmdata.download.options import MANIFEST, DownloadOptions, DownloadReport
from vlmdata.download.outputs import card, clean_stale, convert_to, manifest
from vlmdata.download.plan import (
    Unit,
    fingerprint,
    load_kwargs,
    loading_error,
    local_format_dataset,
    plan,
    plan_local,
    short,
)
from vlmdata.download.state import SPLITS, Checkpoint
from vlmdata.errors import InvalidDataError, Problem, UsageError, VlmDataError
from vlmdata.formats import FORMATS
from vlmdata.images import inspect
from vlmdata.io import ShardWriter
from vlmdata.progress import progress
from vlmdata.sources import RowRef, Source, SourceOptions, get_source
from vlmdata.sources.hub import Location, NetworkError, locate
from vlmdata.validate.canonical import check_canonical

BATCH_ROWS = 64


def download(opts: DownloadOptions, on_notice=None, reader=None) -> DownloadReport:
    """Run the download; the report's `notices` are what the user must be told (an offline fallback, a
    resumed run). `on_notice(text)`: also called with each notice as it happens (the CLI prints it then,
    before a long read). Nothing is printed here. reader(loc, opts, units, checkpoint, report, bar):
    reads the source files into the checkpoint in place of this process (vlmdata.ray.download)."""
    with datasets_settings(opts.quiet):
        return _download(opts, on_notice or (lambda text: None), reader)


@contextmanager
def datasets_settings(quiet: bool):
    """`datasets` as a download needs it, for this call only (the previous values come back after):
    - no torch: its IterableDataset imports torch whenever it is installed (to share the epoch with
      torch DataLoader workers), 2-6 s and ~500 MB that `vlmdata` never needs;
    - its logging at errors only, and its progress bars off when quiet or stderr is not a terminal
      (vlmdata's own bar says how far the download is)."""
    import sys

    import datasets
    from datasets.utils import logging as ds_logging

    torch_before = datasets.config.TORCH_AVAILABLE
    verbosity = ds_logging.get_verbosity()
    bars = datasets.is_progress_bar_enabled()
    datasets.config.TORCH_AVAILABLE = False
    ds_logging.set_verbosity_error()
    if quiet or not sys.stderr.isatty():
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        datasets.config.TORCH_AVAILABLE = torch_before
        ds_logging.set_verbosity(verbosity)
        if bars:
            datasets.enable_progress_bars()


def source_of(opts: DownloadOptions) -> Source:
    return get_source(
        opts.source,
        SourceOptions(opts.subsets, opts.repo, opts.prompt, opts.prompts_file, dict(opts.columns), opts.seed),
    )


def _download(opts: DownloadOptions, notify, reader=None) -> DownloadReport:
    if opts.format not in FORMATS:
        raise UsageError(f"unknown --format {opts.format!r}; choose one of {', '.join(FORMATS)}")
    if not 0.0 <= opts.val_ratio < 1.0:
        raise UsageError(f"--val-ratio must be in [0, 1), found {opts.val_ratio}")
    source = source_of(opts)
    loc = Location(source.repo, "local") if getattr(source, "local", False) else None
    loc = loc or locate(source.repo, opts.hub_mirror, opts.revision)
    report = DownloadReport(str(opts.out), source.repo, loc.kind)
    if loc.notice:
        report.notices.append(loc.notice)
        notify(loc.notice)
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
        notify(notice)
    try:
        _write(source, loc, opts, units, configs, totals, checkpoint, report, local, reader)
    except (KeyboardInterrupt, NetworkError):
        raise  # keep the finished files: the same command resumes
    except BaseException:
        if not checkpoint.done:
            checkpoint.remove()
        raise
    checkpoint.remove()
    return report


def _write(source, loc, opts, units, configs, totals, checkpoint, report, local, reader=None) -> None:
    with atomic_output_dir(opts.out, opts.overwrite) as tmp:
        total = sum(totals.values()) if totals and not opts.shard else None
        with progress(f"downloading {source.repo}", total=total, quiet=opts.quiet) as bar:
            if reader is not None:  # e.g. each source file read on a Ray worker (vlmdata.ray.download)
                reader(loc, opts, units, checkpoint, report, bar)
            else:
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
    caps = caps_of(opts)
    prepared: set = set()
    full = fullness(opts, caps, counts)

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
                    raise stopped_after(meta, unit, loc, opts)
                checkpoint.finish(k, writers, meta)
            else:  # done in an earlier, interrupted run
                resumed(meta, unit, counts, bar)
            add_unit(report, meta)
    finally:
        opened_units.close()  # stops background prefetches on errors too


def resumed(meta: dict, unit: Unit, counts: dict, bar) -> None:
    """A unit done in an earlier, interrupted run (its checkpoint meta): the rows it kept count toward the
    --num-*-samples caps again ({(config, role): n}), and the progress bar moves past it."""
    for role, n in meta["counts"].items():
        counts[(unit.config, role)] = counts.get((unit.config, role), 0) + n
    bar.advance(meta["rows_read"], images=meta["images"])


def add_unit(report: DownloadReport, meta: dict) -> None:
    """A unit's checkpoint meta ({"rows_read": 120, "images": 118, "skipped": [...], ...}) added to the report."""
    report.rows_read += meta["rows_read"]
    report.images += meta["images"]
    report.skipped += meta["skipped"]


def caps_of(opts: DownloadOptions) -> dict:
    return {"train": opts.num_train_samples, "validation": opts.num_val_samples}


def fullness(opts: DownloadOptions, caps: dict, counts: dict):
    """full(config, role): whether the --num-*-samples caps of the splits a unit feeds are reached."""

    def full(config, role) -> bool:
        roles = ("train", "validation") if role == "carve" and opts.val_ratio else ("train",)
        roles = roles if role == "carve" else (role,)
        return all(caps[r] is not None and counts.get((config, r), 0) >= caps[r] for r in roles)

    return full


def stopped_after(meta: dict, unit: Unit, loc: Location, opts: DownloadOptions) -> InvalidDataError:
    return InvalidDataError(
        meta["problems"], meta["bad"], meta["rows_read"], str(opts.out),
        f"Reading stopped after {short(unit.file, loc)}. Pass --skip-invalid to write the "
        "valid rows and list every skipped one in manifest.json under 'skipped'.",
    )  # fmt: skip


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
