"""Layer 0 (run folder): the names and rules of a run's output folder; torch-free.

    runs/x/vlmtrain_config.yaml            CONFIG_NAME: the resolved config (marks a vlmtrain run's folder)
    runs/x/dropped_overlength.jsonl        DROPPED_NAME: records preflight dropped
    runs/x/.incomplete/checkpoint-16/      STAGING: a checkpoint while it is saved (removed if the save was killed)
    runs/x/checkpoint-16/                  after the rename: model, optimizer.pt, rng_state.pth, trainer_state.json

`recorded_config("runs/x")` -> the resolved config a run wrote there ({"template_date": "2026-12-07", ...}), {} if none.
`newest_complete(output_dir)` -> (Path("runs/x/checkpoint-16"), [incomplete newer ones]): the highest-numbered
checkpoint-N holding a trainer_state.json. `check_output_dir` refuses to train into another run's folder;
`LAUNCHED_ENV` marks the ranks `vlmtrain run --nproc N` started under torchrun (they skip the launcher's
checks). The Trainer side of atomic checkpoints is `vlmtrain.trainers.AtomicCheckpoints`.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from vlmtrain.errors import ConfigError, VlmTrainError
from vlmtrain.notices import notice

CONFIG_NAME = "vlmtrain_config.yaml"
DROPPED_NAME = "dropped_overlength.jsonl"
STAGING = ".incomplete"
STATE_NAME = "trainer_state.json"  # transformers' TRAINER_STATE_NAME, written last by a save
LAUNCHED_ENV = "VLMTRAIN_LAUNCHED"  # set for the ranks `vlmtrain run --nproc N` starts under torchrun
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def launched() -> bool:
    """True in a rank that `vlmtrain run` started under torchrun (it checked the config already)."""
    return bool(os.environ.get(LAUNCHED_ENV))


def recorded_config(folder: str | Path) -> dict[str, Any]:
    """The resolved config `vlmtrain run` wrote into a run folder ({} when it holds none: not a run folder,
    or a Hub id). A YAML date (a hand edit: `template_date: 2026-12-07` unquoted) reads as its ISO text."""
    path = Path(folder) / CONFIG_NAME
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise VlmTrainError(f"{path}: cannot read the run's config ({exc}); restore or delete it") from None
    if not isinstance(data, dict):
        return {}
    return {k: v.isoformat() if isinstance(v, datetime.date) else v for k, v in data.items()}


def checkpoints(output_dir: str | Path) -> list[Path]:
    """checkpoint-N folders of output_dir, lowest N first."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _CHECKPOINT.match(p.name)) and p.is_dir()]
    return [p for _, p in sorted(found)]


def is_complete(checkpoint: str | Path) -> bool:
    return (Path(checkpoint) / STATE_NAME).is_file()


def newest_complete(output_dir: str | Path) -> tuple[Path | None, list[Path]]:
    """(newest complete checkpoint or None, incomplete checkpoints newer than it)."""
    skipped: list[Path] = []
    for path in reversed(checkpoints(output_dir)):
        if is_complete(path):
            return path, skipped
        skipped.append(path)
    return None, skipped


def clear_staging(output_dir: str | Path) -> None:
    """Remove what a save killed midway left: <output_dir>/.incomplete, and an older checkpoint-N that
    `vlmdata.atomic.replace_folder` had moved aside (.checkpoint-N.old-PID) when the kill came between
    its two renames."""
    root = Path(output_dir)
    shutil.rmtree(root / STAGING, ignore_errors=True)
    for old in root.glob(".checkpoint-*.old-*"):
        shutil.rmtree(old, ignore_errors=True)


def resuming(value) -> bool:
    return value not in (None, False, "false", "False")


def resume_checkpoint(args) -> str | None:
    """resume_from_checkpoint: true -> the newest complete checkpoint-N in output_dir (incomplete ones,
    left by a run killed while saving, are named and skipped); a path -> that folder, if complete."""
    value = args.resume_from_checkpoint
    if not resuming(value):
        return None
    if value in (True, "true", "True"):
        last, skipped = newest_complete(args.output_dir)
        if args.process_index == 0:
            for path in skipped:
                notice(
                    f"vlmtrain: skipping {path}: incomplete (no trainer_state.json; its save was interrupted)"
                )
        if last is None:
            found = f" (only incomplete ones: {', '.join(p.name for p in skipped)})" if skipped else ""
            raise VlmTrainError(
                f"resume_from_checkpoint: true, but {args.output_dir} holds no complete checkpoint-N folder"
                f"{found}; remove the key to start afresh"
            )
        return str(last)
    if not Path(value).is_dir():
        raise VlmTrainError(f"resume_from_checkpoint: checkpoint folder {value!r} does not exist")
    if not is_complete(value):
        raise VlmTrainError(
            f"resume_from_checkpoint: {value} is incomplete (no trainer_state.json; its save was interrupted); "
            "point at an earlier checkpoint or use resume_from_checkpoint: true for the newest complete one"
        )
    return str(value)


def check_output_dir(cfg: dict[str, Any], source: str = "config") -> None:
    """Refuse to train into a non-empty output_dir unless resuming it or `overwrite_output_dir: true`
    (which replaces only a folder an earlier `vlmtrain run` wrote). Torch-free: runs before launching."""
    out = Path(cfg["output_dir"])
    if resuming(cfg.get("resume_from_checkpoint")) or not out.is_dir() or not any(out.iterdir()):
        return
    names = sorted(p.name for p in out.iterdir())
    held = ", ".join(names[:4]) + (f", ... ({len(names)} entries)" if len(names) > 4 else "")
    if not cfg.get("overwrite_output_dir"):
        raise ConfigError(
            [
                f"output_dir: {out} is not empty (it holds {held}); set overwrite_output_dir: true to replace "
                "that run, resume_from_checkpoint: true to continue it, or choose another output_dir"
            ],
            source,
        )
    if not (out / CONFIG_NAME).is_file():
        raise ConfigError(
            [
                f"output_dir: {out} is not empty and has no {CONFIG_NAME}, so it is not a vlmtrain run's folder; "
                "overwrite_output_dir: true replaces only those: choose another output_dir"
            ],
            source,
        )


def clear_output_dir(out: Path) -> None:
    """overwrite_output_dir: the earlier run's files go (checkpoints, TensorBoard events, logs), so
    nothing of it mixes with this run. check_output_dir made sure it is a vlmtrain folder."""
    for path in out.iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
