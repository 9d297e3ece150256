"""Planning a download: which source files to read, in which order, and which of them this part reads.

    plan(source, loc, opts) -> ([Unit("ai2d", "train", "train", 0, ".../ai2d/train-00000-of-00001-....parquet"),
                                 ...], configs, expected rows per config)

A unit is one data file of one config and split. Units are listed in a fixed order (configs as asked,
train before validation, files as the repo lists them); `--shard i/N` keeps units i, i+N, i+2N, ...
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from vlmdata import __version__
from vlmdata.download.options import DownloadOptions
from vlmdata.errors import UsageError, VlmDataError
from vlmdata.sources import Source
from vlmdata.sources.hub import Location, NetworkError


@dataclass
class Unit:
    config: str | None
    role: str  # train | validation | carve (train file whose rows may go to validation by --val-ratio)
    split: str  # the source split
    file_index: int
    file: str


def load_kwargs(loc: Location, opts: DownloadOptions) -> dict:
    kwargs: dict = {"cache_dir": opts.cache_dir}
    if loc.kind == "hub":
        kwargs["revision"] = loc.revision_sha or opts.revision
    return kwargs


def plan(source: Source, loc: Location, opts: DownloadOptions):
    """List the files to read, in a fixed order, and keep this part's share of them."""
    import datasets

    try:
        available = [c for c in datasets.get_dataset_config_names(loc.path, **load_kwargs(loc, opts))]
    except Exception as exc:
        raise loading_error(exc, loc) from None
    configs = source.configs([c for c in available if c != "default"] if len(available) > 1 else available)
    units: list[Unit] = []
    totals: dict[str, int] = {}
    for config in configs:
        try:
            builder = datasets.load_dataset_builder(loc.path, config, **load_kwargs(loc, opts))
        except Exception as exc:
            raise loading_error(exc, loc) from None
        files = dict(builder.config.data_files or {})
        if opts.split not in files:
            raise UsageError(
                f"{source.repo}{'/' + config if config else ''} has no split {opts.split!r}; "
                f"its splits: {', '.join(files) or 'none'}"
            )
        has_val = opts.split == "train" and "validation" in files
        plan = [("carve" if opts.val_ratio and not has_val else "train", opts.split)]
        if has_val:
            plan.append(("validation", "validation"))
        for role, split in plan:
            units += [Unit(config, role, split, k, f) for k, f in enumerate(files[split])]
        splits = builder.info.splits or {}
        known = [(splits[s].num_examples or 0, r) for r, s in plan if s in splits]
        if len(known) == len(plan):
            caps = {"train": opts.num_train_samples, "carve": None, "validation": opts.num_val_samples}
            totals[config or ""] = sum(n if caps[r] is None else min(n, caps[r]) for n, r in known)
    if opts.shard:
        i, n = opts.shard
        if n > len(units):
            raise UsageError(
                f"--shard {i}/{n}: the selection has only {len(units)} source file(s), the unit of sharding; "
                f"use at most {len(units)} parts"
            )
        units = units[i::n]
    return units, configs, totals


def local_format_dataset(path: str):
    """A local folder already in one of the formats (read as `vlmdata convert` reads it), or None."""
    from vlmdata.formats import detect_format
    from vlmdata.inputs import discover, iter_raw

    try:
        dataset = discover(path)
        first = dataset.files[0]
        if first.fmt:
            return dataset
        for _, _, raw in iter_raw(first):
            return dataset if detect_format(raw) else None
    except VlmDataError:
        return None
    return None


def plan_local(dataset, opts: DownloadOptions) -> list[Unit]:
    units = []
    for k, f in enumerate(dataset.files):
        if f.split == opts.split:
            units.append(Unit(None, "carve" if opts.val_ratio else "train", f.split, k, str(f.path)))
        elif f.split == "validation" and opts.split == "train":
            units.append(Unit(None, "validation", f.split, k, str(f.path)))
    if not units:
        raise UsageError(
            f"{dataset.root} has no {opts.split!r} files (found: {', '.join(f.path.name for f in dataset.files)})"
        )
    return units


def fingerprint(opts: DownloadOptions, loc: Location, units: list) -> dict:
    """What makes two runs the same download (a rerun resumes only when this matches)."""
    skip = ("out", "quiet", "overwrite", "num_proc", "cache_dir", "format", "allow_lossy")
    return {
        "version": __version__,
        "options": {k: v for k, v in asdict(opts).items() if k not in skip},
        "location": [loc.kind, loc.path, loc.revision_sha],
        "units": [[u.config, u.role, u.split, u.file_index, str(u.file)] for u in units],
    }


def short(file: str, loc: Location) -> str:
    """A data file as a path inside the repo: 'vqav2/train-00000-of-00002-abc.parquet'."""
    file = str(file)
    if loc.kind != "hub" and file.startswith(loc.path):
        return file[len(loc.path) :].lstrip("/")
    marker = f"{loc.path}@"
    if marker in file:
        return file.split(marker, 1)[1].split("/", 1)[1]
    return file


def loading_error(exc: Exception, loc: Location, file: str | None = None) -> VlmDataError:
    where = f" ({short(file, loc)})" if file else ""
    name = type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else name
    netty = (
        isinstance(exc, (ConnectionError, TimeoutError))
        or "connect" in name.lower()
        or "timeout" in name.lower()
    )
    if netty or "offline" in text.lower() or "connection" in text.lower():
        return NetworkError(
            f"network failure while reading {loc.path}{where}: {text}. Check the connection and rerun "
            f"(files already fetched are reused from the cache), or read a local mirror with --hub-mirror DIR"
        )
    return VlmDataError(f"cannot read {loc.path}{where}: {name}: {text}")
