"""`vlmtrain run` on one process (torchrun starts one of these per rank): checked config -> trained output.

train({"model_name_or_path": "models/tiny-qwen2vl", "data_dir": "data/naruto", "method": "lora",
       "family": "qwen2_vl", "output_dir": "runs/tiny", ...})
  -> Path("runs/tiny") holding:
     adapter_model.safetensors + adapter_config.json (lora/qlora) or model.safetensors (full/freeze),
     the processor files, vlmtrain_config.yaml, trainer_log.jsonl, runs/ (TensorBoard), loss.png,
     checkpoint-N/ folders, dropped_overlength.jsonl (when samples were dropped)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from vlmtrain.errors import VlmTrainError
from vlmtrain.notices import notice

CONFIG_NAME = "vlmtrain_config.yaml"
DROPPED_NAME = "dropped_overlength.jsonl"


def module_class_names(family, model_path) -> set[str]:
    """Class names of every module of the model, built on the meta device (no weights read)."""
    import torch
    import transformers

    config = transformers.AutoConfig.from_pretrained(str(model_path))
    with torch.device("meta"):
        model = getattr(transformers, family.model_class_for(config.model_type))._from_config(config)
    return {type(m).__name__ for m in model.modules()}


def fill_fsdp_config(cfg: dict, family, present: set[str] | None = None) -> None:
    """fsdp set: wrap the family's decoder/encoder layer classes unless the user chose classes. A family
    lists every layer class its checkpoints may use (LLaVA: Llama, Mistral, Qwen2, ...); only those in this
    model are kept, because FSDP's auto-wrap refuses a class name it cannot find."""
    if not cfg.get("fsdp"):
        return
    fsdp_config = dict(cfg.get("fsdp_config") or {})
    if "transformer_layer_cls_to_wrap" not in fsdp_config:
        classes = [c for c in family.fsdp_wrap_classes if present is None or c in present]
        if not classes:
            raise VlmTrainError(
                f"fsdp: none of the {family.name} family's layer classes ({', '.join(family.fsdp_wrap_classes)}) "
                "is in this model; set fsdp_config.transformer_layer_cls_to_wrap"
            )
        fsdp_config["transformer_layer_cls_to_wrap"] = classes
    fsdp_config.setdefault("version", 2)  # FSDP2 (per-parameter sharding, fully_shard: vlmtrain.fsdp)
    if not any(k in cfg for k in ("activation_checkpointing", "gradient_checkpointing")):
        # FSDP's own (non-reentrant) checkpointing: the Trainer's would add an AllGather in backward.
        cfg["activation_checkpointing"] = False
        fsdp_config.setdefault("activation_checkpointing", True)
    cfg["fsdp_config"] = fsdp_config


def preflight(config, dataset, processor, family, split: str = "train", notices: list[str] | None = None):
    """Exact tokens per record before training (`vlmtrain.tokens`, image expansion from the headers).

    Refuses to start when a record would break the collator (image/placeholder mismatch, unreadable
    image, no assistant turn), listing them all; records longer than max_length are dropped and listed in
    <output_dir>/dropped_overlength.jsonl, or stop the run (on_overlength: error). Never truncates.
    Returns the dataset to train on, with a `length` column (tokens per record) for length grouping;
    what was dropped is appended to `notices` (printed once every split has passed, so a notice never
    names a file of a run that was then refused).
    """
    from vlmtrain.data import dropped_notice, filter_overlength
    from vlmtrain.tokens import preflight as count_tokens
    from vlmtrain.tokens.shards import iter_split

    if not config.token_check:
        return dataset
    max_length = config.max_length or sys.maxsize
    report = count_tokens(
        _first_records(iter_split(config.data_dir, split), len(dataset)),
        processor,
        family,
        max_length,
        config.per_device_train_batch_size,
        max_pixels=config.max_pixels,
        train_on_prompt=config.train_on_prompt,
    )
    if report.problems:
        shown = "\n".join("  - " + p.describe().replace("\n", "\n    ") for p in report.problems[:20])
        more = f"\n  ... and {len(report.problems) - 20} more" if len(report.problems) > 20 else ""
        raise VlmTrainError(
            f"{len(report.problems)} {split} record(s) would fail in the collator; nothing was trained:\n"
            f"{shown}{more}\nfix them (vlmdata validate lists them too) or set token_check: false to skip this check"
        )
    lengths = [0] * len(dataset)
    for c in report.counts:
        lengths[c.position] = c.length
    if "length" in dataset.column_names:
        dataset = dataset.remove_columns("length")
    dataset = dataset.add_column("length", lengths)
    if config.max_length is None:
        return dataset
    main = config.process_index == 0
    dropped = Path(config.output_dir) / DROPPED_NAME if main else None
    kept, rows = filter_overlength(dataset, lengths, config.max_length, config.on_overlength, dropped, split)
    if rows and notices is not None:
        notices.append(dropped_notice(rows, len(lengths), split, config.max_length, dropped))
    return kept


def _first_records(chunks, n: int):
    """(file, first, records) chunks of a split -> the same, stopping after n records (max_train_samples)."""
    left = n
    for file, first, records in chunks:
        if left <= 0:
            return
        yield file, first, records[:left]
        left -= len(records)


def resolved_config(args, cfg: dict[str, Any]) -> dict[str, Any]:
    """The user-settable keys with the values this run used (re-runnable with `vlmtrain run`): the keys
    the user gave as given (TrainingArguments rewrites some, e.g. fsdp "full_shard" -> True), the rest
    as resolved."""
    import enum

    from vlmtrain.config import known_keys

    def plain(v):
        if isinstance(v, enum.Enum):
            return v.value
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    keys = set(known_keys())
    out = {k: plain(v) for k, v in args.to_dict().items() if k in keys and not k.startswith("hub_token")}
    return {**out, **{k: v for k, v in cfg.items() if k in keys}}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _trim_log(output_dir: Path, checkpoint: str | None) -> None:
    """Fresh run: start a new log. Resume: keep the log lines up to the checkpoint's step. Either way the
    list of dropped records is rewritten by this run's preflight."""
    from vlmtrain.callbacks import LOG_NAME, read_log

    log = output_dir / LOG_NAME
    (output_dir / DROPPED_NAME).unlink(missing_ok=True)  # preflight writes it afresh on every run
    if checkpoint is None:
        log.unlink(missing_ok=True)
        return
    state = json.loads((Path(checkpoint) / "trainer_state.json").read_text())
    rows = [r for r in read_log(output_dir) if r.get("step", 0) <= state["global_step"]]
    _write_atomic(log, "".join(json.dumps(r) + "\n" for r in rows))


def train(cfg: dict[str, Any]) -> Path:
    """Checked config dict (from `vlmtrain.config.load_config`) -> output folder."""
    from vlmtrain.methods import bitsandbytes_only_for

    with bitsandbytes_only_for(cfg.get("method", "lora")):
        return _train(cfg)


def _train(cfg: dict[str, Any]) -> Path:
    quiet_progress_bars()
    from vlmtrain.callbacks import JsonlLogCallback, plot_loss, use_one_progress_display
    from vlmtrain.checkpoints import check_output_dir, clear_output_dir, clear_staging, resume_checkpoint
    from vlmtrain.collator import VLMCollator
    from vlmtrain.config import to_training_args
    from vlmtrain.data import CappedCollator, load_split
    from vlmtrain.families import resolve_family
    from vlmtrain.launch import LAUNCHED_ENV
    from vlmtrain.methods import apply_method, load_model, resolve_precision, trainable_summary
    from vlmtrain.sampling import grouped_trainer_class, record_lengths

    cfg = dict(cfg)
    family = resolve_family(cfg["family"])
    precision = resolve_precision(cfg)
    if cfg.get("fsdp") and cfg.get("use_cpu") and os.environ.get("RANK", "0") == "0":
        # accelerate builds its FSDP plugin only for GPU-like devices; on CPU it quietly runs DDP.
        notice(
            "vlmtrain: warning: FSDP needs GPUs; on CPU this run uses DDP (every rank holds the whole model)"
        )
    if cfg.get("fsdp"):
        fill_fsdp_config(cfg, family, module_class_names(family, cfg["model_name_or_path"]))
    args = to_training_args(cfg)
    out = Path(args.output_dir)
    main = args.process_index == 0
    if main and not os.environ.get(LAUNCHED_ENV):
        check_output_dir(cfg, "config")  # `vlmtrain run` checked before launching; API callers here
    checkpoint = resume_checkpoint(args)
    fresh = main and not out.exists()
    if main:
        if checkpoint is None and out.is_dir() and any(out.iterdir()):
            clear_output_dir(out)  # overwrite_output_dir: true (check_output_dir refused otherwise)
        out.mkdir(parents=True, exist_ok=True)
        clear_staging(out)
        _trim_log(out, checkpoint)
        _write_atomic(out / CONFIG_NAME, yaml.safe_dump(resolved_config(args, cfg), sort_keys=False))

    try:
        processor = family.load_processor(args.model_name_or_path)
        train_ds = load_split(args.data_dir, args.train_split, args.max_train_samples)
        notices: list[str] = []
        train_ds = preflight(args, train_ds, processor, family, args.train_split, notices)
        eval_ds = None
        if args.eval_split:
            eval_ds = preflight(
                args, load_split(args.data_dir, args.eval_split), processor, family, args.eval_split, notices
            )
    except BaseException:
        if fresh:  # refused before training: leave no output folder behind (it holds only our config)
            shutil.rmtree(out, ignore_errors=True)
        raise
    if main:
        for line in notices:
            notice(line)

    seed_everything(args)
    model = apply_method(load_model(args, family, precision), args, family)
    if main:
        notice(f"vlmtrain: {family.name}, method {args.method}, {precision}: {trainable_summary(model)}")
    # max_length here only guards: preflight already removed every record that would exceed it.
    # Sharded runs: a text-only batch gets a label-free image row so every rank runs the vision tower
    # (vlmtrain.fsdp; without it the ranks' collectives differ and the run hangs).
    keep_vision = bool(cfg.get("fsdp")) and args.world_size > 1
    collator = CappedCollator(
        VLMCollator(
            processor,
            family,
            max_length=args.max_length,
            train_on_prompt=args.train_on_prompt,
            keep_vision=keep_vision,
        ),
        args.max_pixels,
    )
    # Length-grouped batches (vlmtrain.sampling) from preflight's `length` column; counted here only when
    # preflight was skipped (token_check: false).
    lengths = None
    if (args.pack_samples or args.train_sampling_strategy == "group_by_length") and (
        "length" not in train_ds.column_names
    ):
        lengths = record_lengths(train_ds, processor, family, args.max_pixels)
    trainer_class, extra = grouped_trainer_class(), {}
    if args.pack_samples:
        from vlmtrain.packing import packed_trainer_class, packed_training

        trainer_class = packed_trainer_class()
        collator, extra, note = packed_training(args, processor, family, model, train_ds, lengths)
        if main:
            notice(f"vlmtrain: {note}")
    trainer = trainer_class(
        **extra,
        train_lengths=lengths,
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=processor,
        data_collator=collator,
        callbacks=[JsonlLogCallback(out)],
    )
    use_one_progress_display(trainer, enabled=not args.disable_tqdm)
    trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model(str(out))
    if trainer.is_world_process_zero():
        processor.save_pretrained(str(out))
        plot_loss(out)
        if args.predict_at_end:
            _predict_and_eval(args, family, processor, trainer.model, out)
    return out


def seed_everything(args) -> None:
    """Seed python, numpy and torch before the model is built. The Trainer seeds only in its own
    __init__, after get_peft_model has drawn the LoRA A matrices from an unseeded RNG: the step-1 loss
    agreed (B starts at zero) but every gradient after it differed between two runs of one config.
    full_determinism: true also turns on torch's deterministic kernels (needed on GPU, see README)."""
    from transformers.trainer_utils import enable_full_determinism, set_seed

    if args.full_determinism:
        enable_full_determinism(args.seed)
    else:
        set_seed(args.seed)


def quiet_progress_bars() -> None:
    """The run's one progress display is the training bar: datasets' "Generating train split" and
    transformers' "Loading weights" bars would interleave with it."""
    import datasets
    from transformers.utils import logging as hf_logging

    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()


def _predict_and_eval(args, family, processor, model, out: Path) -> None:
    """predict_at_end: the trained model (adapter still attached) answers eval_split; scores -> metrics.json."""
    from vlmtrain.predict import predict_and_eval

    result = predict_and_eval(
        args.model_name_or_path,
        args.data_dir,
        out,
        split=args.eval_split,
        metrics=args.predict_metrics,
        loaded=(family, processor, model),
        max_new_tokens=args.predict_max_new_tokens,
    )
    scores = ", ".join(f"{k} {v:.4f}" for k, v in result["eval"]["metrics"].items())
    notice(f"vlmtrain: {args.eval_split} predictions in {out / 'predictions.jsonl'}; {scores}")
