"""Layer 3 (statistics): padding and packing figures over token counts, as `vlmtrain check` reports them.

    batch_padding([3, 1, 2, 2], [0, 1, 2, 3], 2) -> {"real_tokens": 8, "padded_tokens": 10, "pad_tokens": 2, ...}
    packing_stats([600, 500, 400, 90], 1024, 2)  -> {"samples": 4, "rows": 2, "fill_ratio": 0.7764, ...}
    report_dict(report) -> report.to_dict() with "padding" (random vs length-grouped batches) and "packing"
                           (`packing: true` on these lengths) added: `vlmtrain check --json`'s "report"

No torch. The orders measured are those `vlmtrain run` trains in (`vlmtrain.sampling`, `vlmtrain.packing`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from vlmtrain.families import resolve_family
from vlmtrain.packing.plan import plan_rows, step_batches
from vlmtrain.sampling import LengthGroupedSampler
from vlmtrain.tokens.report import Report


def report_dict(report: Report, limit: int | None = None) -> dict:
    """`report.to_dict(limit)` with the padding and packing figures at the run's batch size, placed before
    the problems (the key order `vlmtrain check --json` has always had)."""
    counts = report.to_dict(limit=limit)
    out: dict = {}
    for key, value in counts.items():
        if key == "problems":
            out["padding"] = padding_report(report.lengths, report.batch_size, report.max_length)
            out["packing"] = packing_or_refusal(report)
        out[key] = value
    return out


def packing_or_refusal(report: Report) -> dict:
    """`packing_report` on the report's lengths, or {"refused": reason} for a family that cannot be packed
    exactly (`Family.packing` None): its figures would describe a run `packing: true` refuses."""
    family = resolve_family(report.family)
    if family.packing is None:
        return {"refused": family.packing_refusal or f"{family.name} cannot be packed exactly"}
    return packing_report(report.lengths, report.batch_size, report.max_length)


def batch_padding(lengths: Sequence[int], order: Sequence[int], batch_size: int) -> dict:
    """Pad tokens when `order` is cut into batches of batch_size, each right-padded to its longest row.

    batch_padding([3, 1, 2, 2], [0, 1, 2, 3], 2) -> {"real_tokens": 8, "padded_tokens": 10,
                                                     "pad_tokens": 2, "pad_fraction": 0.2}
    """
    real = padded = 0
    for start in range(0, len(order), batch_size):
        rows = [lengths[i] for i in order[start : start + batch_size]]
        real += sum(rows)
        padded += max(rows) * len(rows)
    return {
        "real_tokens": real,
        "padded_tokens": padded,
        "pad_tokens": padded - real,
        "pad_fraction": (padded - real) / padded if padded else 0.0,
    }


def packing_stats(lengths: Sequence[int], max_length: int, rows_per_device: int, seed: int = 0) -> dict:
    """What packing gives on these lengths (samples over max_length left out, as the run drops them):

    packing_stats([600, 500, 400, 90], 1024, 2) -> {"samples": 4, "rows": 2, "fill_ratio": 0.7764,
        "steps": 1, "tokens_per_step": {"min": 1590, "mean": 1590.0, "max": 1590}, "pad_fraction": 0.2236}
    fill_ratio: real tokens / (rows * max_length); pad_fraction: the padding of rows up to each per-device
    batch's longest row (0 with flatten/flash-attention).
    """
    kept = [n for n in lengths if n <= max_length]
    rows = plan_rows(kept, max_length, seed)
    batches = step_batches(rows, kept, rows_per_device, 1, seed)
    tokens = [sum(kept[i] for i in row) for row in rows]
    steps = [sum(tokens[r] for r in b) for b in batches]
    padded = sum(max(tokens[r] for r in b) * len(b) for b in batches)
    real = sum(tokens)
    return {
        "samples": len(kept),
        "rows": len(rows),
        "fill_ratio": round(real / (len(rows) * max_length), 4) if rows else 0.0,
        "steps": len(batches),
        "tokens_per_step": step_stats(steps),
        "pad_fraction": round((padded - real) / padded, 4) if padded else 0.0,
    }


def step_stats(tokens_per_step: Sequence[int]) -> dict:
    if not tokens_per_step:
        return {"min": 0, "mean": 0.0, "max": 0}
    return {
        "min": min(tokens_per_step),
        "mean": round(sum(tokens_per_step) / len(tokens_per_step), 1),
        "max": max(tokens_per_step),
    }


def padding_report(lengths: list[int], batch_size: int, max_length: int, seed: int = 0) -> dict:
    """Padding tokens per batch of `batch_size` (lengths capped at max_length).

    "random": shuffled batches, what a plain random sampler gives. "length_grouped": the order
    `vlmtrain run` trains in (`vlmtrain.sampling.LengthGroupedSampler`, same seed), so the number is
    what training will see.
    """
    capped = [min(x, max_length) for x in lengths]
    order = list(range(len(capped)))
    random.Random(seed).shuffle(order)
    grouped = list(LengthGroupedSampler(capped, batch_size, seed=seed))
    return {
        "random": _waste(capped, order, batch_size),
        "length_grouped": _waste(capped, grouped, batch_size),
    }


def packing_report(lengths: list[int], batch_size: int, max_length: int, seed: int = 0) -> dict:
    """`packing: true` on these lengths (`packing_stats`: rows of max_length, fill ratio,
    padding), and real tokens per step (one device) for packed rows of batch_size rows next to random and
    length-grouped batches of batch_size samples. Samples over max_length are left out, as the run drops them.
    """
    kept = [x for x in lengths if x <= max_length]
    out = packing_stats(kept, max_length, batch_size, seed)
    order = list(range(len(kept)))
    random.Random(seed).shuffle(order)
    grouped = list(LengthGroupedSampler(kept, batch_size, seed=seed))
    out["tokens_per_step"] = {
        "packed": out["tokens_per_step"],
        "length_grouped": step_stats(_step_tokens(kept, grouped, batch_size)),
        "random": step_stats(_step_tokens(kept, order, batch_size)),
    }
    return out


def _step_tokens(lengths: list[int], order: list[int], batch_size: int) -> list[int]:
    return [sum(lengths[i] for i in order[s : s + batch_size]) for s in range(0, len(order), batch_size)]


def _waste(lengths: list[int], order: list[int], batch_size: int) -> dict:
    """batch_padding under the keys `vlmtrain check --json` reports."""
    pad = batch_padding(lengths, order, batch_size)
    return {
        "pad_tokens": pad["pad_tokens"],
        "total_tokens": pad["padded_tokens"],
        "fraction": round(pad["pad_fraction"], 4),
    }
