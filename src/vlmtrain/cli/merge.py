"""Layer 6 (CLI): `vlmtrain merge`: base model + LoRA adapter -> one standalone model folder."""

from __future__ import annotations

import click

from vlmtrain.cli import handle_errors


@click.command("merge")
@click.option("--model", required=True, help="Base model: local folder or Hub id (the adapter's base).")
@click.option(
    "--adapter", required=True, type=click.Path(), help="LoRA adapter folder (adapter_config.json)."
)
@click.option("--out", required=True, type=click.Path(), help="New folder for the merged model.")
@handle_errors
def command(model: str, adapter: str, out: str) -> None:
    """Merge a LoRA adapter into its base model and save weights + processor to OUT.

    The result loads with AutoModelForImageTextToText (no peft needed) and gives the same logits as
    the base model with the adapter.

    \b
    vlmtrain merge --model Qwen/Qwen2-VL-2B-Instruct --adapter runs/qwen/adapter --out models/qwen-merged
    """
    from vlmtrain.merge import merge
    from vlmtrain.notices import quiet_progress_bars

    with quiet_progress_bars(datasets=False):
        result = merge(model, adapter, out)
    click.echo(
        f"Merged {adapter} into {model}: {result['model_class']} ({result['dtype']}) "
        f"saved to {result['out']} in {result['seconds']:.1f} s"
    )
