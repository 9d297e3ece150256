"""`vlmdata info PATH`."""

from __future__ import annotations

import json
import os
import sys

import click

from vlmdata.cli import handle_errors
from vlmdata.cli.options import input_format_option, media_dir_option


@click.command("info")
@click.argument("path", type=click.Path(exists=True))
@input_format_option
@media_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@handle_errors
def command(path, fmt, media_dir, as_json):
    """Count records, images and videos; show turns, text lengths, image sizes, video durations, frame
    rates, sizes and codecs (video headers need the [video] extra).

    \b
    vlmdata info data/naruto
    vlmdata info data/naruto-lf --json
    """
    from vlmdata.info import info

    stats = info(path, fmt, media_dir)
    try:
        _show(path, stats, as_json)
        sys.stdout.flush()  # a reader that stopped early shows here, not in Python's exit flush
    except BrokenPipeError:
        # `vlmdata info DIR | head -1`: the reader has what it wanted; no "Error: Broken pipe".
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)


def _show(path, stats: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(stats, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    class _Console(Console):
        def on_broken_pipe(self) -> None:  # rich's own handler exits 1; `command` exits quietly
            raise BrokenPipeError

    console = _Console()
    rows = ", ".join(f"{k}: {v}" for k, v in stats["rows"].items())
    click.echo(
        f"{path}: {stats['records']} records ({rows}), {stats['images']} images, "
        f"{stats['image_size']['bytes'] / 1e6:.1f} MB of image data"
    )
    per = ", ".join(f"{k}: {v}" for k, v in stats["images_per_record"].items())
    click.echo(f"images per record: {per}; records with a system turn: {stats['with_system_turn']}")
    table = Table("statistic", "min", "median", "mean", "p95", "max")
    for name, d in (
        ("turns", stats["turns"]),
        ("user chars", stats["chars"]["user"]),
        ("assistant chars", stats["chars"]["assistant"]),
        ("image width", stats["image_size"]["width"]),
        ("image height", stats["image_size"]["height"]),
        ("video seconds", stats["video"]["duration"]),
        ("video fps", stats["video"]["fps"]),
        ("video width", stats["video"]["width"]),
        ("video height", stats["video"]["height"]),
    ):
        if d:
            table.add_row(name, *(str(d[k]) for k in ("min", "median", "mean", "p95", "max")))
    console.print(table)
    formats = ", ".join(f"{k}: {v}" for k, v in stats["image_size"]["formats"].items())
    if formats:
        click.echo(f"image formats: {formats}")
    video = stats["video"]
    if stats["videos"]:
        codecs = ", ".join(f"{k}: {v}" for k, v in video["codecs"].items())
        click.echo(
            f"videos: {stats['videos']} ({video['bytes'] / 1e6:.1f} MB), codecs: {codecs}; "
            f"variable frame rate: {video['variable_fps']}, unreadable: {video['unreadable']}"
        )
