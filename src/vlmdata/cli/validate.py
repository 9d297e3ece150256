"""`vlmdata validate`: check a dataset against its format's schema and the rules a schema can't express."""

from __future__ import annotations

import sys

import click

from vlmdata.cli import handle_errors
from vlmdata.cli.options import (
    check_images_option,
    engine_options,
    input_format_option,
    max_pixels_option,
    media_dir_option,
    video_options,
)


@click.command("validate")
@click.argument("path", type=click.Path(path_type=str))
@input_format_option
@check_images_option
@click.option(
    "--no-open-images",
    is_flag=True,
    help="Only check that images exist and stay inside the dataset folder; open none.",
)
@max_pixels_option
@video_options
@click.option(
    "--model",
    "model",
    type=click.Path(exists=True, file_okay=False),
    help="Model or processor folder: also count tokens per record (needs the [train] extra).",
)
@click.option("--max-length", type=click.IntRange(min=1), help="Token limit per record, with --model.")
@media_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON on stdout.")
@click.option(
    "--show",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="How many problems to list one by one below the table.",
)
@engine_options
@handle_errors
def command(path, fmt, check_images, no_open_images, max_pixels, check_videos, max_video_pixels, model, max_length,
            media_dir, as_json, show, engine, ray_address):  # fmt: skip
    """Check every record of a dataset and report every problem.

    Each record is checked against its format's JSON Schema, then for what a schema can't express:
    one image per placeholder, alternating roles ending with the assistant, no empty turns, images
    that exist inside the dataset folder and open within the pixel limit, videos whose header gives a
    duration and frames within --max-video-pixels (needs the [video] extra), and dataset_info.json
    entries that point at real files and columns. Canonical Parquet shards are checked too.

    Exit status: 0 valid, 1 invalid, 2 usage error.

    \b
    vlmdata validate data/naruto-lf
    vlmdata validate data/train.jsonl --format oai --check-images --json > report.json
    vlmdata validate data/big --engine ray --ray-address HEAD:6379
    """
    from vlmdata.ray.validate import validate as validate_on_ray
    from vlmdata.validate import render, validate

    report = (validate_on_ray if engine == "ray" else validate)(
        path,
        fmt=fmt,
        check_images=check_images,
        max_pixels=max_pixels,
        model=model,
        max_length=max_length,
        open_images=not no_open_images,
        media_dir=media_dir,
        check_videos=check_videos,
        max_video_pixels=max_video_pixels,
        **({"address": ray_address} if engine == "ray" else {}),
    )
    if as_json:
        import orjson

        click.echo(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        from rich.console import Console

        Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160).print(render(report, show))
    sys.exit(0 if report.ok else 1)
