"""`vlmdata view`: look at a dataset in the browser (needs the [view] extra)."""

from __future__ import annotations

import click

from vlmdata.cli import handle_errors


@click.command("view")
@click.argument("path", type=click.Path(exists=True, path_type=str))
@click.option(
    "--model",
    type=click.Path(exists=True, file_okay=False),
    help="Model or processor folder: exact token counts and label masks (needs the [train] extra).",
)
@click.option(
    "--max-length", type=click.IntRange(min=1), help="Flag records over this many tokens (with --model)."
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port (0: any free one)."
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback lets other machines read the dataset.",
)
@handle_errors
def command(path, model, max_length, port, host):
    """Serve a read-only page over a dataset: records with their images and turns, search, filters,
    validate's problems per record and a summary with plots; with --model, token counts and label masks.

    \b
    vlmdata view data/naruto
    vlmdata view data/naruto-lf --model models/tiny-qwen2vl --max-length 2048 --port 9000
    """
    from vlmdata.view import Viewer

    viewer = Viewer.bind(path, host=host, port=port, model=model, max_length=max_length)
    if not viewer.loopback:
        click.echo(
            f"Warning: listening on {host}: anyone who can reach this machine can read the dataset.", err=True
        )
    click.echo(f"Serving {path} at {viewer.url} (Ctrl-C to stop)")
    viewer.serve()
