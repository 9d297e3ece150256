"""Layer 6 (CLI): `vlmtrain make-tiny-model`: a random-weight model of a family, for tests and dry runs."""

from __future__ import annotations

import click

from vlmtrain.cli import handle_errors
from vlmtrain.families import NAMES, resolve_family

# Each family and whose published chat template its tiny model carries, verbatim ("unverified": none held;
# "no chat template (processor prefix)": the checkpoint publishes none).
EPILOG = (
    "\b\nFAMILY is one of (template: the real checkpoint's, unverified, or none published):\n"
    + "\n".join(f"  {name}: {resolve_family(name).template_note}" for name in NAMES)
)


@click.command("make-tiny-model", epilog=EPILOG)
@click.argument("family")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="New folder to write."
)
@click.option("--seed", default=0, show_default=True, help="Seed for the random weights.")
@handle_errors
def command(family: str, out_dir: str, seed: int) -> None:
    """Build a tiny random-weight FAMILY model (config model_type) offline, with its processor and the
    chat template of the real checkpoint named below, byte for byte.

    \b
    vlmtrain make-tiny-model qwen2_vl --out models/tiny-qwen2vl
    """
    from vlmtrain.tiny.make import make_tiny_model

    path = make_tiny_model(family, out_dir, seed=seed)
    click.echo(f"wrote {path}")
