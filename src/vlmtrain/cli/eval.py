"""Layer 6 (CLI): `vlmtrain eval`: score a predictions.jsonl, print a table, write metrics.json."""

from __future__ import annotations

import click

from vlmtrain.cli import handle_errors
from vlmtrain.metrics import DEFAULT_METRICS


@click.command("eval")
@click.argument("predictions", type=click.Path(dir_okay=False))
@click.option(
    "--metrics",
    default=",".join(DEFAULT_METRICS),
    show_default=True,
    help="Comma-separated: anls, exact_match, vqa_accuracy, bleu, rouge_l, cider.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the JSON scores [default: metrics.json next to PREDICTIONS].",
)
@handle_errors
def command(predictions: str, metrics: str, out: str | None) -> None:
    """Score PREDICTIONS (the predictions.jsonl from `vlmtrain predict`) against its references.

    Scores are fractions in 0-1, except CIDEr (COCO's CIDEr-D scale, 0-10). A line's `reference` may be
    one string or a list of strings (several human answers, as VQA accuracy expects).

    \b
    vlmtrain eval runs/qwen/predictions.jsonl --metrics anls,vqa_accuracy
    vlmtrain eval preds.jsonl --metrics bleu,rouge_l,cider --out preds-metrics.json
    """
    from rich.console import Console
    from rich.table import Table

    from vlmtrain.metrics import evaluate_file

    names = [m.strip() for m in metrics.split(",") if m.strip()]
    result = evaluate_file(predictions, names, out=out)
    table = Table(title=f"{result['num_samples']} predictions from {predictions}")
    table.add_column("metric")
    table.add_column("score", justify="right")
    table.add_column("scale")
    for name, value in result["metrics"].items():
        table.add_row(name, f"{value:.4f}", result["scales"][name])
    Console(width=100).print(table)
    for note in result["notes"]:
        click.echo(f"Note: {note}")
    click.echo(f"Wrote {result['written']}")
