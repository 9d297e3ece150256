"""What `vlmdata download` writes beside the shards: manifest.json, the README.md dataset card, the
conversion to JSON formats, and the cleanup of folders a killed run left behind."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

from vlmdata import __version__
from vlmdata.atomic import alive
from vlmdata.formats import FORMATS


def convert_to(
    canonical: Path,
    tmp: Path,
    fmt: str,
    quiet: bool = True,
    allow_lossy: bool = False,
    name: str | None = None,
) -> None:
    """Convert the canonical shards in `canonical` into `fmt` files placed directly in `tmp`. `name`: the
    dataset's name in files that carry one (sharegpt's dataset_info.json), the --out folder's name."""
    from vlmdata.convert import convert

    staged = tmp / ".converted" / (name or tmp.name)  # convert names the dataset after its folder
    convert(canonical, fmt, staged, quiet=quiet, allow_lossy=allow_lossy)
    for path in staged.iterdir():
        path.rename(tmp / path.name)
    shutil.rmtree(staged.parent)
    shutil.rmtree(canonical)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest(source, loc, opts, configs, report, tmp: Path, data_files: list[str]) -> dict:
    options = {k: v for k, v in asdict(opts).items() if k not in ("out", "quiet", "overwrite", "cache_dir")}
    options["shard"] = f"{opts.shard[0]}/{opts.shard[1]}" if opts.shard else None
    options["subsets"] = list(opts.subsets)
    if loc.kind != "hub":
        options["hub_mirror"] = None  # machine-specific; `loaded_from` says a mirror was read
    return {
        "tool": "vlmdata",
        "version": __version__,
        "source": source.NAME if source.NAME != "hub" else opts.source,
        "repo": source.repo,
        "revision": opts.revision,
        "resolved_revision": loc.revision_sha,
        "loaded_from": loc.kind,
        "subsets": [c for c in configs if c],
        "rows": report.rows,
        "rows_read": report.rows_read,
        "images": report.images,
        "skipped": report.skipped,
        "files": {
            name: {"sha256": sha256(tmp / name), "bytes": (tmp / name).stat().st_size} for name in data_files
        },
        "options": options,
    }


def card(source, loc, opts, configs, report, data_files: list[str]) -> str:
    """README.md. No YAML `configs:` block on purpose: with one, `datasets` keys its cache on the
    unresolved file patterns (load.py hashes the card's configs, not the files), so load_dataset(DIR)
    after a re-download into the same folder returns the earlier rows. Without it, `datasets` finds
    the splits from the file names (`train-00000-of-00001.parquet`, `validation.jsonl`) and keys the
    cache on the resolved files and their modification times: it always sees the current content."""
    splits = [s for s in ("train", "validation") if report.rows.get(s)]
    target = FORMATS[opts.format]
    lines = [
        "---",
        f"pretty_name: {json.dumps(Path(opts.out).name)}",
        "---",
        "",
        f"# {Path(opts.out).name}",
        "",
    ]
    what = f"`{source.repo}`" + (f" (subsets: {', '.join(c for c in configs if c)})" if any(configs) else "")
    lines.append(f"Made by `vlmdata download` {__version__} from {what}, read from {loc.kind}.")
    if loc.kind == "bundled":
        lines.append("**These are the tiny offline test rows bundled with vlmkit, not the real dataset.**")
    lines += ["", "| split | rows | files |", "|---|---:|---|"]
    for s in splits:
        files = ", ".join(f"`{f}`" for f in data_files if f.startswith(s) and f.endswith(target.SUFFIX))
        lines.append(f"| {s} | {report.rows[s]} | {files} |")
    lines += ["", f"Rows read: {report.rows_read}; skipped (listed in manifest.json): {len(report.skipped)}."]
    if target.CANONICAL:
        lines += [
            "",
            "Each row is one conversation in the OAI-messages layout TRL uses: `messages` (role, typed content",
            "parts; the k-th image part is the k-th image), `images` (decoded to PIL by `datasets`), `id`, `source`.",
        ]
    lines += [
        "",
        "```python",
        "from datasets import load_dataset",
        "ds = load_dataset('path/to/this/folder')  # splits found from the file names",
        "```",
    ]
    return "\n".join(lines) + "\n"


def clean_stale(out: Path) -> None:
    """Remove temporary folders that a killed run (SIGKILL, power loss) left beside `out`."""
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        return
    for tmp in parent.glob(f".{out.name}.tmp-*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)
