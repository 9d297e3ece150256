"""Layer 4 (drivers): `vlmtrain check`'s report for a terminal (rich): a summary, the length histogram, what
max_length cuts, padding and packing (`vlmtrain.stats`)."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.stats import report_dict
from vlmtrain.tokens.report import Report


def render_report(report: Report, limit: int = 20):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    d = report_dict(report, limit=limit)
    parts = []
    lengths = d["lengths"]
    head = Text()
    head.append(f"{d['samples']} samples", style="bold")
    head.append(f", family {d['family']}, counted by {d['method']}")
    if d["fallback_reason"]:
        head.append(f" ({d['fallback_reason']})", style="yellow")
    head.append(f" in {d['seconds']:.2f} s")
    parts.append(head)
    if lengths["count"]:
        parts.append(
            Text(
                f"tokens per sample: min {lengths['min']}, p50 {lengths['p50']}, p90 {lengths['p90']}, "
                f"p99 {lengths['p99']}, max {lengths['max']}, mean {lengths['mean']}"
            )
        )
        hist = Table(title="length histogram", title_justify="left", box=None)
        hist.add_column("tokens", justify="right")
        hist.add_column("samples", justify="right")
        hist.add_column("")
        top = max(b["count"] for b in lengths["histogram"]) or 1
        for b in lengths["histogram"]:
            cut = " > max_length" if b["lo"] > report.max_length else ""
            bar = "#" * round(30 * b["count"] / top)
            hist.add_row(f"{b['lo']}-{b['hi'] - 1}", str(b["count"]), bar + cut)
        parts.append(hist)
    ips = ", ".join(f"{k} image(s): {v}" for k, v in d["images_per_sample"].items())
    parts.append(Text(f"images per sample: {ips or 'none'}"))

    over, cut = d["over_max_length"], d["image_truncated"]
    style = "red bold" if cut["count"] else ("yellow" if over["count"] else "green")
    parts.append(
        Text(
            f"over max_length {report.max_length}: {over['count']} "
            f"({cut['count']} would lose image tokens, {over['count'] - cut['count']} only text)",
            style=style,
        )
    )
    for r in over["records"]:
        where = f"{Path(r['file']).name} " if r["file"] else ""
        loses = r["image_end"] > report.max_length
        note = f", image tokens run to {r['image_end']}: cuts image tokens" if loses else ", cuts text only"
        parts.append(
            Text(
                f"  {where}record {r['record']} ({r['id']}): {r['length']} tokens{note}",
                style="red" if loses else None,
            )
        )
    if over["count"] > len(over["records"]):
        parts.append(Text(f"  ... and {over['count'] - len(over['records'])} more (--json lists all)"))

    pad = d["padding"]
    parts.append(
        Text(
            f"padding at batch size {report.batch_size}: random batches {pad['random']['fraction']:.1%} "
            f"of tokens, length-grouped {pad['length_grouped']['fraction']:.1%}"
        )
    )
    pk = d["packing"]
    if "refused" in pk:
        parts.append(Text(f"packing (packing: true): refused for {report.family}: {pk['refused']}"))
    else:
        parts.append(Text(packing_line(pk, report.max_length)))
    other = report.problems
    if other:
        parts.append(
            Text(f"{len(other)} record(s) cannot be counted or would be rejected:", style="red bold")
        )
        for p in other[:limit]:
            parts.append(Text("  " + p.describe().replace("\n", "\n  ")))
        if len(other) > limit:
            parts.append(Text(f"  ... and {len(other) - limit} more (--json lists all)"))
    if d["problem_count"]:
        parts.append(Text(f"not ok: {d['problem_count']} record(s) would break training", style="red bold"))
    else:
        parts.append(Text("ok: every sample fits and every image keeps its tokens", style="green"))
    return Group(*parts)


def packing_line(pk: dict, max_length: int) -> str:
    """One line of `packing_report`'s figures: rows, fill, padding, real tokens per step by order."""
    per_step = pk["tokens_per_step"]

    def spread(k: str) -> str:
        return f"{per_step[k]['mean']:.0f} ({per_step[k]['min']}-{per_step[k]['max']})"

    return (
        f"packing (packing: true): {pk['samples']} samples in {pk['rows']} rows of {max_length}, "
        f"{pk['fill_ratio']:.1%} full, padding {pk['pad_fraction']:.1%}; real tokens per step, mean "
        f"(min-max): packed {spread('packed')}, length-grouped {spread('length_grouped')}, "
        f"random {spread('random')}"
    )
