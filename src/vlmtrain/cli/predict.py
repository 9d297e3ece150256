"""Layer 6 (CLI): `vlmtrain predict`: generate answers for a split (or one image) into predictions.jsonl."""

from __future__ import annotations

import click

from vlmtrain.cli import handle_errors


@click.command("predict")
@click.option("--model", required=True, help="Model folder or Hub id (a base model or a merged one).")
@click.option("--adapter", type=click.Path(), default=None, help="LoRA adapter folder to apply.")
@click.option("--data", type=click.Path(), default=None, help="Folder of canonical Parquet shards.")
@click.option("--split", default="validation", show_default=True, help="Split of --data to predict.")
@click.option(
    "--image", type=click.Path(), default=None, help="One image file (with --prompt), instead of --data."
)
@click.option("--prompt", default=None, help="The question or instruction for --image.")
@click.option("--out", type=click.Path(dir_okay=False), default="predictions.jsonl", show_default=True)
@click.option("--batch-size", default=8, show_default=True, type=click.IntRange(min=1))
@click.option("--max-new-tokens", default=64, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--temperature", default=0.0, show_default=True, type=click.FloatRange(min=0), help="0 = greedy."
)
@click.option(
    "--top-p", default=1.0, show_default=True, type=click.FloatRange(0, 1), help="With --temperature > 0."
)
@click.option("--limit", default=None, type=click.IntRange(min=1), help="Only the first N records.")
@click.option("--seed", default=0, show_default=True, type=int, help="Sampling seed.")
@click.option(
    "--template-date",
    default=None,
    metavar="YYYY-MM-DD",
    help="The date a chat template that prints today's date sees [default: the template_date recorded in "
    "the run folder's vlmtrain_config.yaml (--adapter's, else --model's), else today].",
)
@click.option("--device", default=None, help="cuda, cuda:1, cpu [default: cuda when available].")
@click.option(
    "--dtype",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "float32", "bfloat16", "float16"]),
)
@handle_errors
def command(
    model, adapter, data, split, image, prompt, out, device, dtype, template_date, **generation
) -> None:
    """Generate a prediction for every record of a split and write predictions.jsonl.

    Each record's prompt is every turn before its last assistant turn; the reference is that turn's
    text. Lines: {"id", "prompt", "reference", "prediction", "seconds"}. Score them with `vlmtrain eval`.

    \b
    vlmtrain predict --model Qwen/Qwen2-VL-2B-Instruct --adapter runs/qwen/adapter \\
        --data data/docvqa --split validation --out runs/qwen/predictions.jsonl
    vlmtrain predict --model models/qwen-merged --image cat.png --prompt "What is this?"
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    from vlmtrain.notices import quiet_progress_bars
    from vlmtrain.predict import predict

    columns = (
        "{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    console = Console(stderr=True)
    with (
        quiet_progress_bars(),
        Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar,
    ):
        task = bar.add_task("predicting", total=None)
        result = predict(
            model, data=data, split=split, image=image, prompt=prompt, adapter=adapter, out=out,
            device=device, dtype=dtype, progress=lambda done, total: bar.update(task, completed=done, total=total),
            template_date=template_date, **generation,
        )  # fmt: skip
    if image is not None:
        click.echo(result["prediction"])
    dated = result["template_date"]
    if dated["read_by_template"]:
        click.echo(f"chat template date: {dated['date']} ({dated['source']})")
    click.echo(
        f"Wrote {result['num_predictions']} prediction(s) to {result['written']} in {result['seconds']:.1f} s"
    )
    if result["skipped"]:
        ids = ", ".join(map(str, result["skipped"][:10])) + (" ..." if len(result["skipped"]) > 10 else "")
        click.echo(f"Skipped {len(result['skipped'])} record(s) with no assistant turn to predict: {ids}")
