"""`vlmdata download --engine ray`: each source file read, checked and written into the download's
checkpoint (`.<out>.download/u00003-train-*.parquet`) on a Ray worker, by download's own per-file code
(`download.run._read_unit`); the driver records each finished file in source order and then runs the
single-machine commit (merge into the output shards, card, manifest), so the output is the same.

Source files are read in parallel when no --num-*-samples cap ties one file's rows to the files before
it; with a cap they are read one after another (each on a worker, with the rows counted so far).
"""

from __future__ import annotations

import functools
import os

from vlmdata.ray.engine import Failure, connect, in_folder, ordered


def read_part(cwd: str, opts, loc, k: int, unit, counts: dict, folder: str):
    """One source file on a worker: its rows into the checkpoint folder; (meta, counts) back."""
    from vlmdata.download.plan import local_format_dataset
    from vlmdata.download.run import _open, _read_unit, caps_of, datasets_settings, fullness, source_of
    from vlmdata.download.state import SPLITS
    from vlmdata.errors import VlmDataError
    from vlmdata.io import ShardWriter
    from vlmdata.progress import _Silent

    try:
        with in_folder(cwd), datasets_settings(True):
            source = source_of(opts)
            local = local_format_dataset(source.repo) if loc.kind == "local" else None
            writers = {s: ShardWriter(folder, f"u{k:05d}-{s}", opts.max_shard_bytes) for s in SPLITS}
            caps = caps_of(opts)
            full = fullness(opts, caps, counts)
            opened = lambda: _open(loc, opts, unit)  # noqa: E731
            meta = _read_unit(
                source, loc, opts, unit, opened, local, set(), writers, caps, counts, full, _Silent()
            )
            for writer in writers.values():
                writer.close()
            return meta, counts
    except (VlmDataError, OSError) as exc:
        return Failure(exc)


def download(opts, on_notice=None, address: str | None = None):
    """vlmdata.download.download on the Ray cluster at `address` (None: a local Ray)."""
    from vlmdata.download import download as download_local
    from vlmdata.ray import require

    require()  # before anything is planned or fetched
    return download_local(opts, on_notice, reader=functools.partial(read_ray, address))


def read_ray(address, loc, opts, units, checkpoint, report, bar) -> None:
    """What download.run._read does, the files read on the workers."""
    from vlmdata.download.run import add_unit, caps_of, fullness, resumed, stopped_after

    ray = connect(address)
    caps = caps_of(opts)
    counts: dict = {}
    full = fullness(opts, caps, counts)
    capped = any(v is not None for v in caps.values())
    cwd, folder = os.getcwd(), str(checkpoint.dir.resolve())
    todo = [k for k in range(len(units)) if k not in checkpoint.done]
    results = (
        None if capped else ordered(ray, read_part, [(cwd, opts, loc, k, units[k], {}, folder) for k in todo])
    )
    for k, unit in enumerate(units):
        meta = checkpoint.done.get(k)
        if meta is None:
            if capped:
                if full(unit.config, unit.role):
                    continue
                meta, after = next(ordered(ray, read_part, [(cwd, opts, loc, k, unit, dict(counts), folder)]))
                counts.update(after)
            else:
                meta, _ = next(results)
            if meta.get("problems"):
                raise stopped_after(meta, unit, loc, opts)
            checkpoint.finish(k, {}, meta)
            bar.advance(meta["rows_read"], images=meta["images"])
        else:  # done in an earlier, interrupted run
            resumed(meta, unit, counts, bar)
        add_unit(report, meta)
