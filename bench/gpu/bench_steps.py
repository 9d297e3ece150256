"""One measured configuration: a path's batches, collated on the CPU (timed), then fed to the model (timed).

Paths (what a step's batch is; every one collated by vlmtrain's or TRL's own collator):

    grouped       VLMCollator on LengthGroupedSampler batches of batch_size records (vlmtrain's default)
    packed_sdpa   PackedCollator rows from plan_rows / PackedRowSampler (vlmtrain.packing), the step's rows
                  flattened into one, the language model on vlmtrain's sdpa per sample (PACKED_SDPA)
    packed_flash  the same rows, flash-attention 2 varlen on the language model (only when flash_attn imports)
    stock         TRL's DataCollatorForVisionLanguageModeling on randomly ordered batches (only when trl imports)

The collator runs first over all the config's batches in this process (its samples/s is one data-loader
worker's rate), then the GPU steps run on the ready batches (its samples/s is what the GPU consumes): the
two rates side by side say whether the collator keeps up and how many loader workers would be needed.
"""

from __future__ import annotations

import math
import random
import statistics
import time

PATHS = ("grouped", "packed_sdpa", "packed_flash", "stock")


def _chunks(order: list[int], size: int) -> list[list[int]]:
    return [order[i : i + size] for i in range(0, len(order), size) if len(order[i : i + size]) == size]


def plan_batches(path: str, lengths: list[int], batch_size: int, pack_length: int, pack_rows: int, seed: int):
    """Record indices per step: grouped/stock -> [[i, ...], ...]; packed -> [[[i, ...] per row], ...]."""
    if path == "grouped":
        from vlmtrain.sampling import LengthGroupedSampler

        return _chunks(list(LengthGroupedSampler(lengths, batch_size, seed=seed)), batch_size)
    if path == "stock":
        order = list(range(len(lengths)))
        random.Random(seed).shuffle(order)
        return _chunks(order, batch_size)
    from vlmtrain.packing import PackedRowSampler, plan_rows

    rows = plan_rows(lengths, pack_length, seed)
    sampler = PackedRowSampler(rows, lengths, rows_per_device=pack_rows, seed=seed)
    return [[rows[r] for r in step] for step in sampler.global_batches() if len(step) == pack_rows]


def trl_example(record: dict) -> dict:
    """A canonical record as TRL's vision collator takes it: messages without null keys, PIL images
    (decoded here, as the stock trainer's dataset decodes them in the loader)."""
    import io

    from PIL import Image

    messages = [
        {**m, "content": [{k: v for k, v in part.items() if v is not None} for part in m["content"]]}
        for m in record["messages"]
    ]
    images = [Image.open(io.BytesIO(im["bytes"])).convert("RGB") for im in record.get("images") or []]
    return {"messages": messages, "images": images}


def make_collator(path: str, processor, family, model, pack_length: int):
    """(callable over one step's records, its class name, the language model's attention kernel)."""
    if path == "grouped":
        from vlmtrain.collator import VLMCollator

        return VLMCollator(processor, family), "VLMCollator"
    if path == "stock":
        from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

        stock = DataCollatorForVisionLanguageModeling(processor)
        return (lambda records: stock([trl_example(r) for r in records])), type(stock).__name__
    from vlmtrain.packing import PackedCollator

    collator = PackedCollator(processor, family, pack_length, model_config=model.config, flatten=True)
    return collator, "PackedCollator"


def set_kernel(model, path: str, default: str) -> str:
    """Point the language model at the path's attention kernel; returns its name."""
    text = model.config.get_text_config()
    if path == "packed_sdpa":
        from vlmtrain.packing import PACKED_SDPA, use_packed_sdpa

        use_packed_sdpa(model)
        return PACKED_SDPA
    text._attn_implementation = "flash_attention_2" if path == "packed_flash" else default
    return text._attn_implementation


def batch_tokens(batch: dict, pad_id) -> tuple[int, int]:
    """(real tokens, padded tokens = rows x width) of a collated batch."""
    from vlmtrain.packing import real_tokens

    rows, width = batch["input_ids"].shape
    if "attention_mask" in batch:
        real = int(batch["attention_mask"].sum())
    else:
        real = int(real_tokens(batch["input_ids"], batch["position_ids"], pad_id))
    return real, rows * width


def _rss_peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _stats(values: list[float]) -> dict:
    if not values:
        return {}
    return {
        "median": round(statistics.median(values), 4),
        "mean": round(statistics.mean(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
    }


def run_config(
    model,
    path: str,
    records: list[dict],
    steps: list,
    processor,
    family,
    *,
    device: str,
    warmup: int,
    timed: int,
    slice_s: float,
    lr: float,
    pack_length: int,
    default_kernel: str,
) -> dict:
    """Collate warmup + timed steps, then train on them; returns the measurements (module docstring).
    Out-of-memory propagates (the driver records it)."""
    import torch

    cuda = device == "cuda"
    t_start = time.perf_counter()
    kernel = set_kernel(model, path, default_kernel)
    collate, collator_name = make_collator(path, processor, family, model, pack_length)
    pad_id = getattr(processor, "tokenizer", processor).pad_token_id
    want = steps[: warmup + timed]

    batches, collate_s, samples = [], 0.0, []
    for step in want:
        items = (
            [[records[i] for i in row] for row in step]
            if path.startswith("packed")
            else [records[i] for i in step]
        )
        t0 = time.perf_counter()
        batch = dict(collate(items))
        collate_s += time.perf_counter() - t0
        batches.append(batch)
        samples.append(sum(len(row) for row in step) if path.startswith("packed") else len(step))

    trainable = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(trainable, lr=lr, fused=cuda)
    model.train()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    autocast = torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=cuda)
    step_s, losses, done_real, done_padded, done_samples, warm = [], [], 0, 0, 0, 0
    train_start = time.perf_counter()
    for k, batch in enumerate(batches):
        if k >= warmup + 1 and time.perf_counter() - t_start > slice_s:
            break  # the config's time slice is spent (at least one timed step ran)
        t0 = time.perf_counter()
        inputs = {key: v.to(device, non_blocking=True) if hasattr(v, "to") else v for key, v in batch.items()}
        with autocast:
            loss = model(**inputs, use_cache=False).loss
        loss.backward()
        optim.step()
        optim.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        losses.append(float(loss.detach()))
        if k < warmup:
            warm += 1
        else:
            real, padded = batch_tokens(batch, pad_id)
            step_s.append(seconds)
            done_real, done_padded = done_real + real, done_padded + padded
            done_samples += samples[k]
    train_s = time.perf_counter() - train_start
    del optim, batches
    timed_s = sum(step_s)
    gpu_rate = done_samples / timed_s if timed_s else 0.0
    collate_rate = sum(samples) / collate_s if collate_s else 0.0
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else _rss_peak_mb() / 1024
    return {
        "status": "ok",
        "collator": collator_name,
        "attn_implementation": kernel,
        "trainable_params": sum(p.numel() for p in trainable),
        "steps": {"warmup": warm, "timed": len(step_s)},
        "samples_timed": done_samples,
        "step_seconds": _stats(step_s),
        "real_tokens_per_s": round(done_real / timed_s, 1) if timed_s else None,
        "padded_tokens_per_s": round(done_padded / timed_s, 1) if timed_s else None,
        "real_tokens_per_step": round(done_real / len(step_s), 1) if step_s else None,
        "pad_fraction": round((done_padded - done_real) / done_padded, 4) if done_padded else None,
        "peak_memory_gib": round(peak, 3),
        "memory_kind": "torch.cuda.max_memory_allocated" if cuda else "peak RSS (VmHWM), whole process",
        "loader": {
            "collate_seconds": round(collate_s, 3),
            "collate_samples_per_s": round(collate_rate, 2),
            "gpu_samples_per_s": round(gpu_rate, 2),
            "keeps_up_with_one_worker": collate_rate >= gpu_rate,
            "workers_needed": math.ceil(gpu_rate / collate_rate) if collate_rate else None,
        },
        "loss": {"first": round(losses[0], 4), "last": round(losses[-1], 4)} if losses else {},
        "wall_seconds": round(time.perf_counter() - t_start, 2),
        "train_seconds": round(train_s, 2),
    }
