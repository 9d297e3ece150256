"""Layer 4 (drivers): what `vlmtrain check` and `vlmdata validate --model` run: load the processor, count
every record.

    check_config("configs/tiny.yaml") -> (settings, processor, family, Report)
      settings["template_date"] = "2026-12-07": the date the chat template saw (the config's template_date,
      the one a resumed run's folder records, else today; settings["template_date_source"] says which)
    check_data("data/naruto", "models/tiny-qwen2vl", max_length=2048) -> Report

The config is the one `vlmtrain run` reads, checked by the same `vlmtrain.config.load_config`.
"""

from __future__ import annotations

from vlmtrain import data
from vlmtrain.tokens.report import Report, preflight

# `vlmtrain run`'s defaults for what the check reads (trl: max_length 1024; transformers: batch 8).
DEFAULTS = {
    "train_split": "train",
    "max_length": 1024,
    "per_device_train_batch_size": 8,
    "train_on_prompt": False,
}


def load_settings(config_path, overrides: dict | None = None, config_overrides=()) -> dict:
    """The run config as a dict (keys as `vlmtrain run` names them), defaults filled in.

    `config_overrides` are KEY=VALUE strings as `vlmtrain run` takes them; `overrides` the CLI's options
    (--split, --max-length, ...), applied last.
    """
    from vlmtrain.config import load_config, resolve_template_date

    cfg = dict(load_config(str(config_path), list(config_overrides)))
    cfg = {**DEFAULTS, **{k: v for k, v in cfg.items() if v is not None}, **(overrides or {})}
    cfg["template_date"], cfg["template_date_source"] = resolve_template_date(cfg)
    return cfg


def load_processor(model_dir, template_date: str | None = None, video_settings=None):
    """(family, processor) for a local model folder, the family's own processor class, its chat template
    seeing `template_date` (None: today) as the date, its video processor set to the run's video settings."""
    from vlmtrain.families import resolve_family

    family = resolve_family(model_dir)
    return family, family.load_processor(
        model_dir, template_date=template_date, video_settings=video_settings
    )


def check_data(data_dir, model_dir, max_length: int, split: str = "train", batch_size: int = 8) -> Report:
    """Exact token counts for every record of a split against a model's processor (for `vlmdata validate`)."""
    family, processor = load_processor(model_dir)
    return preflight(data.iter_split(data_dir, split), processor, family, max_length, batch_size)


def check_config(config_path, overrides: dict | None = None, verify: int = 0, config_overrides=()):
    """`vlmtrain check CONFIG`: settings, processor, family and the report over the configured split."""
    cfg = load_settings(config_path, overrides, config_overrides)
    from vlmtrain.encoding.video import settings_from

    family, processor = load_processor(cfg["model_name_or_path"], cfg["template_date"], settings_from(cfg))
    report = preflight(
        data.iter_split(cfg["data_dir"], cfg["train_split"]),
        processor,
        family,
        int(cfg["max_length"]),
        int(cfg["per_device_train_batch_size"]),
        max_pixels=cfg.get("max_pixels"),
        train_on_prompt=bool(cfg.get("train_on_prompt")),
        verify=verify,
    )
    return cfg, processor, family, report


def first_records(data_dir, split: str, n: int) -> list[dict]:
    out: list[dict] = []
    for _file, _first, recs in data.iter_split(data_dir, split, batch_size=max(n, 1)):
        out.extend(recs[: n - len(out)])
        if len(out) >= n:
            break
    return out
