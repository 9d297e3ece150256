"""Layer 6 (CLI): `vlmtrain check CONFIG.yaml`: exact tokens per sample before any GPU time is spent."""

from __future__ import annotations

import json
import sys

import click

from vlmdata.atomic import atomic_write_text
from vlmtrain.cli import handle_errors


def verification(report, asked: int) -> dict:
    """What --verify K checked: {"asked": 3, "verified": 3, "mismatches": 0, "message": "verify: ..."}.
    Only counts made by rule are verified; when the family has no rule for this processor every count
    already came from the real processor."""
    mismatches = sum(1 for p in report.problems if p.code == "count-mismatch")
    if report.method != "rule":
        done, message = (
            0,
            (
                f"verify: nothing to compare: every count already comes from the real processor "
                f"({report.fallback_reason})"
            ),
        )
    else:
        done = min(asked, len(report.counts))
        if mismatches:
            message = f"verify: {mismatches} of {done} sample(s) counted differently by the real processor (listed above)"
        else:
            message = (
                f"verify: the real processor gives the same token count as the {report.family} rule "
                f"for each of the first {done} sample(s)"
            )
    return {"asked": asked, "verified": done, "mismatches": mismatches, "message": message}


def template_date(cfg, processor) -> dict:
    """Which date the chat template saw: {"date": "2026-12-07", "source": "today", "read_by_template": True,
    "message": "chat template date: 2026-12-07 (today: ...)"}; the message only where the template prints it."""
    from vlmtrain.encoding.template_date import prints_date

    date, source, reads = cfg["template_date"], cfg["template_date_source"], prints_date(processor)
    if source == "today":
        source = "today: the config sets no template_date; `vlmtrain run` records the day it starts on"
    message = f"chat template date: {date} ({source})" if reads else None
    return {
        "date": date,
        "source": cfg["template_date_source"],
        "read_by_template": reads,
        "message": message,
    }


@click.command("check")
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("config_overrides", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--split", default=None, help="Split to check (default: the config's train_split, else train).")
@click.option("--max-length", type=int, default=None, help="Override the config's max_length.")
@click.option("--batch-size", type=int, default=None, help="Override per_device_train_batch_size.")
@click.option(
    "--show-labels",
    "show_labels",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Show the first N samples as the model sees them (trained tokens highlighted).",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the --show-labels view as an HTML page to this file.",
)
@click.option(
    "--verify",
    type=int,
    default=0,
    metavar="K",
    help="Also run the real processor on the first K samples and fail on any count that differs.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report (and labels) as JSON.")
@click.option(
    "--limit",
    type=int,
    default=20,
    show_default=True,
    help="Records listed per section in the terminal report (--json lists all).",
)
@handle_errors
def command(
    config, config_overrides, split, max_length, batch_size, show_labels, html_path, verify, as_json, limit
):
    """Count the exact tokens of every sample, image expansion included, and show what is trained.

    Reads the same YAML (and KEY=VALUE overrides) as `vlmtrain run`. Image sizes come from file headers (no pixel decoding) and
    each family's expansion rule; text comes from the chat template and the fast tokenizer. Reports the
    length histogram, samples over max_length and those whose image tokens truncation would cut, images
    per sample, and the padding wasted at the configured batch size with and without length grouping.
    Exits 1 when a sample would break training. A chat template that prints today's date renders the
    config's template_date (else the date a resumed run recorded, else today's; the report says which).

    \b
    vlmtrain check configs/qwen2vl-7b-qlora.yaml
    vlmtrain check configs/qwen2vl-7b-qlora.yaml --show-labels 3 --html labels.html
    vlmtrain check configs/qwen2vl-7b-qlora.yaml --max-length 4096 --json > report.json
    vlmtrain check configs/tiny-cpu.yaml max_pixels=50176
    """
    from vlmtrain.check import check_config, first_records

    overrides = {
        k: v
        for k, v in {
            "train_split": split,
            "max_length": max_length,
            "per_device_train_batch_size": batch_size,
        }.items()
        if v is not None
    }
    cfg, processor, family, report = check_config(
        config, overrides, verify=verify, config_overrides=config_overrides
    )
    views = None
    if show_labels > 0 or html_path:
        from vlmtrain.labels_view import to_html, view_records

        records = first_records(cfg["data_dir"], cfg["train_split"], show_labels or 3)
        views = view_records(records, processor, family, report.max_length, bool(cfg["train_on_prompt"]))
        if html_path:
            atomic_write_text(html_path, to_html(views))

    verified = verification(report, verify) if verify else None
    dated = template_date(cfg, processor)
    if as_json:
        from vlmtrain.stats import report_dict

        out = {"report": report_dict(report), "template_date": dated}
        if verified is not None:
            out["verify"] = verified
        if views is not None:
            out["labels"] = views
        click.echo(json.dumps(out, indent=2))
    else:
        from rich.console import Console

        from vlmtrain.console import render_report

        console = Console(highlight=False)
        console.print(render_report(report, limit=limit))
        if dated["message"]:
            console.print(dated["message"], soft_wrap=True)
        if verified is not None:
            console.print(verified["message"], soft_wrap=True)
        if views is not None and show_labels > 0:
            from vlmtrain.labels_view import to_rich

            console.print(to_rich(views))
        if html_path:
            console.print(f"labels view written to {html_path}", soft_wrap=True)
    if not report.ok:
        sys.exit(1)
