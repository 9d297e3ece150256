"""Layer 4 (drivers): `vlmtrain run` on one process (torchrun starts one of these per rank): checked config ->
trained output.

train({"model_name_or_path": "models/tiny-qwen2vl", "data_dir": "data/naruto", "method": "lora",
       "family": "qwen2_vl", "output_dir": "runs/tiny", ...})
  -> Path("runs/tiny") holding:
     adapter_model.safetensors + adapter_config.json (lora/qlora) or model.safetensors (full/freeze),
     the processor files, vlmtrain_config.yaml, trainer_log.jsonl, runs/ (TensorBoard), loss.png,
     checkpoint-N/ folders, dropped_overlength.jsonl (when samples were dropped)

A straight driver: each step is a call into the layers below (run folder, config, data and counting,
trainers), in the order they run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from vlmtrain.notices import notice, quiet_progress_bars


def train(cfg: dict[str, Any]) -> Path:
    """Checked config dict (from `vlmtrain.config.load_config`) -> output folder."""
    from vlmtrain.methods import bitsandbytes_only_for

    # The run's one progress display is the training bar: datasets' "Generating train split" and
    # transformers' "Loading weights" bars would interleave with it.
    with bitsandbytes_only_for(cfg.get("method", "lora")), quiet_progress_bars():
        return _train(cfg)


def _train(cfg: dict[str, Any]) -> Path:
    from vlmdata.atomic import atomic_write_text
    from vlmtrain.callbacks import JsonlLogCallback, plot_loss, trim_log, use_one_progress_display
    from vlmtrain.config import resolve_template_date, resolved_config, to_training_args
    from vlmtrain.data import load_split, preflight, training_collator
    from vlmtrain.encoding.template_date import prints_date
    from vlmtrain.encoding.video import settings_from
    from vlmtrain.families import resolve_family
    from vlmtrain.fsdp import fill_fsdp_config, meta_model
    from vlmtrain.methods import apply_method, load_model, resolve_precision, trainable_summary
    from vlmtrain.runfolder import (
        CONFIG_NAME,
        check_output_dir,
        clear_output_dir,
        clear_staging,
        launched,
        resume_checkpoint,
    )
    from vlmtrain.sampling import record_lengths
    from vlmtrain.trainers import grouped_trainer_class

    cfg = dict(cfg)
    # One date for every render of this run (launch resolved it already; API callers here), written into
    # the run folder's config for a resumed run and `vlmtrain predict`.
    cfg["template_date"] = resolve_template_date(cfg)[0]
    family = resolve_family(cfg["family"])
    precision = resolve_precision(cfg)
    if cfg.get("fsdp") and cfg.get("use_cpu") and os.environ.get("RANK", "0") == "0":
        # accelerate builds its FSDP plugin only for GPU-like devices; on CPU it quietly runs DDP.
        notice(
            "vlmtrain: warning: FSDP needs GPUs; on CPU this run uses DDP (every rank holds the whole model)"
        )
    if cfg.get("fsdp"):
        # The family's layer classes present in this model (built on the meta device, no weights read).
        fill_fsdp_config(cfg, family.wrap_classes(meta_model(family, cfg["model_name_or_path"])))
    args = to_training_args(cfg)
    out = Path(args.output_dir)
    main = args.process_index == 0
    if main and not launched():
        check_output_dir(cfg, "config")  # `vlmtrain run` checked before launching; API callers here
    checkpoint = resume_checkpoint(args)
    fresh = main and not out.exists()
    if main:
        if checkpoint is None and out.is_dir() and any(out.iterdir()):
            clear_output_dir(out)  # overwrite_output_dir: true (check_output_dir refused otherwise)
        out.mkdir(parents=True, exist_ok=True)
        clear_staging(out)
        trim_log(out, checkpoint)
        atomic_write_text(out / CONFIG_NAME, yaml.safe_dump(resolved_config(args, cfg), sort_keys=False))

    try:
        processor = family.load_processor(
            args.model_name_or_path, template_date=args.template_date, video_settings=settings_from(args)
        )
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
        if prints_date(processor):
            notice(
                f"vlmtrain: the chat template prints today's date; this run renders it as {args.template_date} "
                f"(template_date in {out / CONFIG_NAME})"
            )

    seed_everything(args)
    model = apply_method(load_model(args, family, precision), args, family)
    if main:
        notice(f"vlmtrain: {family.name}, method {args.method}, {precision}: {trainable_summary(model)}")
    # max_length here only guards: preflight already removed every record that would exceed it.
    # Sharded runs: a text-only batch gets a label-free image row so every rank runs the vision tower
    # (vlmtrain.fsdp; without it the ranks' collectives differ and the run hangs).
    keep_vision = bool(cfg.get("fsdp")) and args.world_size > 1
    collator = training_collator(args, processor, family, keep_vision)
    # Length-grouped batches (vlmtrain.sampling) from preflight's `length` column; counted here only when
    # preflight was skipped (token_check: false).
    lengths = None
    if (args.pack_samples or args.train_sampling_strategy == "group_by_length") and (
        "length" not in train_ds.column_names
    ):
        lengths = record_lengths(train_ds, processor, family, args.max_pixels)
    trainer_class, extra = grouped_trainer_class(), {}
    if args.pack_samples:
        from vlmtrain.trainers import packed_trainer_class, packed_training

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


def _predict_and_eval(args, family, processor, model, out: Path) -> None:
    """predict_at_end: the trained model (adapter still attached) answers eval_split; scores -> metrics.json.
    Prediction only: the training data was loaded above through `vlmtrain.data`."""
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
