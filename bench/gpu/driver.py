"""GPU benchmark: training throughput and memory of real-size VLMs on one CUDA GPU, in under 9 minutes.

    bench/gpu/run.sh              # cuda: Qwen2.5-VL-7B-Instruct and Gemma 3 4B shapes -> $OUT/gpu_train.json
    bench/gpu/run.sh --dry-run    # the same code path on CPU with the tiny models -> gpu_train_dry_run.json

For each model (random weights, real config: bench_models.py) and method (lora bf16, qlora 4-bit when
bitsandbytes imports, full where fp32 weights + grads + AdamW states fit) and path (bench_steps.PATHS:
grouped, packed_sdpa, packed_flash when flash_attn imports, TRL's stock collator when trl imports): a few
warm-up steps, then timed steps, on the cauldron-shaped records of bench/train_throughput.py at real image
sizes. Reported per run: real tokens/s, step time, peak GPU memory, pad fraction, the collator's samples/s
next to the GPU's, or why it was skipped, or that it ran out of memory. A time budget (--budget, 540 s)
gives each remaining run an equal slice of what is left; a run whose slice is too short is skipped.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import SimpleNamespace

T0 = time.perf_counter()
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
for _p in (ROOT / "src", ROOT / "bench", HERE):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import bench_models  # noqa: E402
import bench_steps  # noqa: E402

import train_throughput  # noqa: E402  (bench/train_throughput.py: the data generator)

METHODS = ("lora", "qlora", "full")
LR = {"lora": 1e-4, "qlora": 1e-4, "full": 1e-5}
# vlmtrain's defaults (training_args.VlmTrainConfig), without importing it: it needs trl.
LORA = dict(lora_r=16, lora_alpha=32, lora_dropout=0.05, lora_target_modules=None)
CHECKPOINTING = {"use_reentrant": False}
SETTINGS = {  # (cuda, dry run)
    "samples": (192, 16),
    "batch_size": (8, 2),
    "warmup": (2, 1),
    "timed": (8, 1),
    "budget": (540.0, 900.0),  # dry run: every path runs (CI machines are slow)
    "min_run_s": (20.0, 0.0),  # a run whose slice is shorter is skipped
    "pack_base": (4096, 512),  # packed row length: this, or the longest sample rounded up to 256
    "activation_margin_gib": (8.0, 0.0),  # full fine-tuning: room left for activations
}


def has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def version(module: str) -> str | None:
    if not has(module):
        return None
    try:
        return getattr(__import__(module), "__version__", "?")
    except Exception as exc:  # an installed but broken package (e.g. a wheel for another CUDA)
        return f"import failed: {type(exc).__name__}: {exc}"[:200]


def environment(device: str) -> dict:
    import torch

    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_runtime": torch.version.cuda,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
    }
    for mod in ("transformers", "peft", "accelerate", "trl", "datasets", "bitsandbytes", "flash_attn"):
        env[mod] = version(mod)
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        env["gpu"] = torch.cuda.get_device_name(0)
        env["gpu_memory_gib"] = round(props.total_memory / 2**30, 2)
        env["gpu_capability"] = f"{props.major}.{props.minor}"
    return env


def path_refusal(path: str, family, device: str) -> str | None:
    """Why `path` cannot run here (None: it can)."""
    if path.startswith("packed") and family.packing is None:
        from vlmtrain.config import packing_refusal

        return packing_refusal(family)
    if path == "packed_flash":
        if device != "cuda":
            return "flash-attention needs CUDA"
        if not has("flash_attn"):
            return "flash_attn does not import here (carry a wheel built for this torch and CUDA)"
        if not family.supports_flash_attention_2:
            return f"the {family.name} family has no flash-attention 2 path"
    if path == "stock" and not (has("trl") and has("datasets")):
        return (
            "trl (and datasets, which it imports) not installed: carry their wheels (README, GPU benchmark)"
        )
    return None


def method_refusal(method: str, params: int, device: str, margin_gib: float) -> str | None:
    if method == "qlora" and not has("bitsandbytes"):
        return "bitsandbytes not installed: carry its wheel (README, GPU benchmark)"
    if method == "full" and device == "cuda":
        import torch

        total = torch.cuda.get_device_properties(0).total_memory / 2**30
        need = params * 16 / 2**30  # fp32 weights + grads + two AdamW states (vlmtrain's full method)
        if need + margin_gib > total:
            return (
                f"does not fit: {params / 1e9:.2f}B params need {need:.0f} GiB for fp32 weights, grads and "
                f"AdamW states (vlmtrain's full method keeps fp32 master weights) plus ~{margin_gib:.0f} GiB "
                f"of activations; the GPU has {total:.0f} GiB"
            )
    return None


def build(model_dir: Path, family, method: str, device: str):
    """The model of `method`, ready to train: materialized, quantized (qlora), vlmtrain's apply_method,
    activation checkpointing on (vlmtrain's default, non-reentrant)."""
    import torch

    from vlmtrain.methods import apply_method, bitsandbytes_only_for, load_dtype

    precision = "bf16" if device == "cuda" else "fp32"
    dtype = load_dtype(method, precision)
    model = bench_models.materialize(model_dir, family, dtype, device, "sdpa")
    if method == "qlora":
        bench_models.quantize_4bit(model, family, precision)
    args = SimpleNamespace(
        method=method,
        activation_checkpointing=True,
        activation_checkpointing_kwargs=CHECKPOINTING,
        **LORA,
    )
    with bitsandbytes_only_for(method):
        model = apply_method(model, args, family)
    if method != "qlora":  # prepare_model_for_kbit_training turned it on for qlora
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        enable = getattr(base, "activation_checkpointing_enable", None)
        if enable is not None:
            enable(activation_checkpointing_kwargs=CHECKPOINTING)
        else:
            base.gradient_checkpointing_enable(gradient_checkpointing_kwargs=CHECKPOINTING)
    if device == "cuda":
        torch.cuda.synchronize()
    return model


def free(device: str) -> None:
    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()


def is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def prepare_model(name: str, tmp: Path, records: list[dict], ns, dry: bool) -> dict:
    """Model folder, processor, exact lengths (vlmtrain.tokens header rule) and the packing geometry."""
    from vlmtrain.families import resolve_family
    from vlmtrain.tokens import count_records

    model_dir, facts = bench_models.prepare_model_dir(name, tmp, dry_run=dry)
    family = resolve_family(bench_models.MODELS[name].family)
    processor = family.load_processor(model_dir)
    t0 = time.perf_counter()
    counts, problems = count_records(records, processor, family)
    if problems:
        raise RuntimeError(f"{name}: {len(problems)} record(s) cannot be counted: {problems[0].describe()}")
    lengths = [c.length for c in counts]
    tok = getattr(processor, "tokenizer", processor)
    words = " ".join(train_throughput.WORDS)
    pack_length = max(ns.pack_base, -(-max(lengths) // 256) * 256)
    facts.update(
        {
            "lengths": {"min": min(lengths), "median": statistics.median(lengths), "max": max(lengths)},
            "length_count_seconds": round(time.perf_counter() - t0, 3),
            "stand_in_tokens_per_word": round(
                len(tok(words, add_special_tokens=False)["input_ids"]) / len(train_throughput.WORDS), 2
            ),
            "pack_length": pack_length,
            "pack_rows_per_step": train_throughput.pack_rows_for(lengths, ns.batch_size, pack_length),
        }
    )
    return {
        "dir": model_dir,
        "family": family,
        "processor": processor,
        "lengths": lengths,
        "facts": facts,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="CPU, tiny models, a few steps (CI)")
    ap.add_argument("--out", default=None, help="folder for the JSON (default: $OUT, else bench/results)")
    ap.add_argument(
        "--models", nargs="+", default=list(bench_models.MODELS), choices=list(bench_models.MODELS)
    )
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--paths", nargs="+", default=list(bench_steps.PATHS), choices=bench_steps.PATHS)
    for key in ("samples", "batch_size", "warmup", "timed"):
        ap.add_argument("--" + key.replace("_", "-"), type=int, default=None)
    ap.add_argument("--budget", type=float, default=None, help="seconds for the whole run (default 540)")
    ap.add_argument("--seed", type=int, default=0)
    ns = ap.parse_args(argv)
    dry = ns.dry_run

    import torch

    device = "cpu" if dry else "cuda"
    if not dry and not torch.cuda.is_available():
        ap.error("no CUDA device: run with --dry-run for the CPU check")
    for key, (gpu_value, dry_value) in SETTINGS.items():
        if getattr(ns, key, None) is None:
            setattr(ns, key, dry_value if dry else gpu_value)
    if dry:
        torch.set_num_threads(1)
    deadline = T0 + ns.budget
    out_dir = Path(ns.out or os.environ.get("OUT") or ROOT / "bench" / "results")
    out_file = out_dir / ("gpu_train_dry_run.json" if dry else "gpu_train.json")

    runs: list[dict] = []
    report = {
        "benchmark": "gpu_train",
        "dry_run": dry,
        "device": device,
        "environment": environment(device),
        "settings": {
            "samples": ns.samples,
            "batch_size": ns.batch_size,
            "warmup_steps": ns.warmup,
            "timed_steps": ns.timed,
            "seed": ns.seed,
            "budget_seconds": ns.budget,
            "optimizer": "torch.optim.AdamW" + (" (fused)" if device == "cuda" else ""),
            "autocast": "bf16" if device == "cuda" else None,
            "activation_checkpointing": CHECKPOINTING,
            "lora": {k: v for k, v in LORA.items() if v is not None},
            "learning_rate": LR,
        },
        "data": {
            "generator": "bench/train_throughput.py cauldron_records (the_cauldron-shaped mix)",
            "image_sizes": train_throughput.SIZES,
            "mix": [{"kind": k, "share": s, "images": i} for k, s, i, *_ in train_throughput.MIX],
        },
        "models": {},
        "runs": runs,
        "notes": [
            "Random weights from each checkpoint's config.json (bench/gpu/configs, ORIGIN.md); the tiny "
            "model's tokenizer stands in for the real one, so image tokens are exact while text runs "
            "longer (stand_in_tokens_per_word).",
            "Each run collates its steps first (collate_samples_per_s: one loader worker in this process), "
            "then trains on the ready batches (gpu_samples_per_s); workers_needed = ceil(gpu / collate).",
            "The synthetic images are flat-colour PNGs: decoding real photos costs the loader more.",
            "Paths see different samples (grouped, packed and random batches); compare real_tokens_per_s.",
        ],
    }

    with tempfile.TemporaryDirectory(prefix="vlmkit-gpu-bench-") as tmp_name:
        tmp = Path(tmp_name)
        t_data = time.perf_counter()
        records = train_throughput.cauldron_records(ns.samples, ns.seed)
        report["data"]["samples"] = len(records)
        report["data"]["generate_seconds"] = round(time.perf_counter() - t_data, 2)
        prepared = {}
        for name in ns.models:
            prepared[name] = prepare_model(name, tmp, records, ns, dry)
            report["models"][name] = prepared[name]["facts"]

        plan = [(m, name) for m in ns.methods for name in ns.models]
        refusals = {}  # (method, model, path) -> why it cannot run here; decided before any run
        for method, name in plan:
            prep = prepared[name]
            why = method_refusal(method, prep["facts"]["real_params"], device, ns.activation_margin_gib)
            for p in ns.paths:
                refusals[method, name, p] = why or path_refusal(p, prep["family"], device)
        left = sum(1 for why in refusals.values() if not why)  # runs still to come: each gets a slice
        for method, name in plan:
            prep = prepared[name]
            family = prep["family"]
            base = {"model": name, "method": method}
            runnable = [p for p in ns.paths if not refusals[method, name, p]]
            for p in ns.paths:
                if refusals[method, name, p]:
                    runs.append({**base, "path": p, "status": "skipped", "reason": refusals[method, name, p]})
            if not runnable:
                continue
            remaining = deadline - time.perf_counter()
            if remaining < ns.min_run_s * len(runnable):
                for p in runnable:
                    runs.append({**base, "path": p, "status": "skipped", "reason": "time budget spent"})
                left -= len(runnable)
                continue
            t_build = time.perf_counter()
            try:
                model = build(prep["dir"], family, method, device)
            except Exception as exc:  # OOM or a broken build: recorded, the other runs go on
                status = "oom" if is_oom(exc) else "error"
                for p in runnable:
                    runs.append({**base, "path": p, "status": status, "reason": f"building: {exc}"[:500]})
                left -= len(runnable)
                free(device)
                continue
            build_s = round(time.perf_counter() - t_build, 2)
            for p in runnable:
                remaining = deadline - time.perf_counter()
                slice_s = remaining / max(left, 1)
                left -= 1
                entry = {**base, "path": p, "build_seconds": build_s}
                if slice_s < ns.min_run_s:
                    runs.append({**entry, "status": "skipped", "reason": "time budget spent"})
                    continue
                steps = bench_steps.plan_batches(
                    p,
                    prep["lengths"],
                    ns.batch_size,
                    prep["facts"]["pack_length"],
                    prep["facts"]["pack_rows_per_step"],
                    ns.seed,
                )
                try:
                    result = bench_steps.run_config(
                        model,
                        p,
                        records,
                        steps,
                        prep["processor"],
                        family,
                        device=device,
                        warmup=ns.warmup,
                        timed=ns.timed,
                        slice_s=slice_s,
                        lr=LR[method],
                        pack_length=prep["facts"]["pack_length"],
                        default_kernel="sdpa",
                    )
                    runs.append({**entry, "slice_seconds": round(slice_s, 1), **result})
                except Exception as exc:
                    status = "oom" if is_oom(exc) else "error"
                    detail = traceback.format_exc(limit=3)[-800:] if status == "error" else str(exc)[:500]
                    runs.append({**entry, "status": status, "reason": detail})
                finally:
                    model.config.get_text_config()._attn_implementation = "sdpa"
                    model.zero_grad(set_to_none=True)  # an OOM in backward leaves grads behind
                    free(device)
                print(f"{name} {method} {p}: {runs[-1]['status']}", file=sys.stderr, flush=True)
            del model
            free(device)

    report["budget"] = {"seconds": ns.budget, "used_seconds": round(time.perf_counter() - T0, 1)}
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp_out = out_file.with_name(out_file.name + ".tmp")
    tmp_out.write_text(json.dumps(report, indent=2) + "\n")
    tmp_out.replace(out_file)
    print(summary(report), flush=True)
    print(f"wrote {out_file}", flush=True)
    return 0


def summary(report: dict) -> str:
    """A short table, printed last (the device tool returns the output's tail)."""
    lines = [f"{'model':15} {'method':6} {'path':12} {'status':8} {'real tok/s':>11} {'step s':>7} "
             f"{'peak GiB':>8} {'pad':>6} {'collate/gpu samples/s':>22}"]  # fmt: skip
    for r in report["runs"]:
        if r["status"] != "ok":
            lines.append(f"{r['model']:15} {r['method']:6} {r['path']:12} {r['status']:8} {r['reason'][:60]}")
            continue
        loader = r["loader"]
        lines.append(
            f"{r['model']:15} {r['method']:6} {r['path']:12} {'ok':8} {r['real_tokens_per_s'] or 0:>11.0f} "
            f"{r['step_seconds'].get('median', 0):>7.3f} {r['peak_memory_gib']:>8.2f} {r['pad_fraction'] or 0:>6.3f} "
            f"{loader['collate_samples_per_s']:>10.1f}/{loader['gpu_samples_per_s']:<10.1f}"
        )
    env = report["environment"]
    lines.append(f"{env.get('gpu', 'cpu')} torch {env['torch']} transformers {env['transformers']}; "
                 f"{report['budget']['used_seconds']} s of {report['budget']['seconds']}")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
