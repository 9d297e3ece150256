"""Click options shared by several commands, their choices taken from the format registry."""

from __future__ import annotations

import click

from vlmdata.formats import INPUT_CHOICES, OUTPUT_FORMATS, WRITER_OPTIONS
from vlmdata.images import DEFAULT_MAX_PIXELS
from vlmdata.videos import DEFAULT_MAX_VIDEO_PIXELS


def input_format_option(fn):
    """--format: the record format of JSON/JSONL (and non-canonical Parquet) inputs."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(INPUT_CHOICES),
        default="auto",
        show_default=True,
        help="Record format of the input files (auto: told from the first records).",
    )(fn)


def output_format_option(*names: str, default: str | None = None, help: str = "Output format."):
    """--to (convert) / --format (download): one of the registry's output formats."""
    names = names or ("--to", "to")
    return click.option(
        *names,
        type=click.Choice(OUTPUT_FORMATS),
        required=default is None,
        default=default,
        show_default=default is not None,
        help=help,
    )


def media_dir_option(fn):
    """--media-dir: what LLaMA-Factory calls media_dir."""
    return click.option(
        "--media-dir",
        type=click.Path(exists=True, file_okay=False),
        help="Folder relative image paths resolve against (default: each data file's folder).",
    )(fn)


def skip_invalid_option(fn):
    return click.option(
        "--skip-invalid",
        is_flag=True,
        help="Write the valid records and list every skipped one with its reason (default: any problem "
        "stops the run; every problem is listed and nothing is written).",
    )(fn)


def writer_options(fn):
    """One flag per writer option a format declares (its module's WRITER_OPTIONS): --llava-image-list."""
    for option in reversed(WRITER_OPTIONS):
        fn = click.option(option.flag, option.name, is_flag=True, help=option.help)(fn)
    return fn


def take_writer_options(params: dict) -> dict:
    """Remove the writer options from a command's parameters: {"llava_image_list": True}."""
    return {o.name: params.pop(o.name) for o in WRITER_OPTIONS}


def check_images_option(fn):
    return click.option(
        "--check-images", is_flag=True, help="Decode every image fully (default: read headers only)."
    )(fn)


def max_pixels_option(fn):
    """--max-pixels: the pixel limit every image check uses (vlmdata.images)."""
    return click.option(
        "--max-pixels",
        type=click.IntRange(min=1),
        default=DEFAULT_MAX_PIXELS,
        show_default=True,
        help="Largest image allowed, in pixels (width x height).",
    )(fn)


def video_options(fn):
    """--check-videos and --max-video-pixels: the video checks (vlmdata.videos)."""
    fn = click.option(
        "--max-video-pixels",
        type=click.IntRange(min=1),
        default=DEFAULT_MAX_VIDEO_PIXELS,
        show_default=True,
        help="Largest video frame allowed, in pixels (width x height; the default is DCI 4K, 4096x2160).",
    )(fn)
    return click.option(
        "--check-videos",
        is_flag=True,
        help="Decode every frame of every video (default: read the container header and the first frame).",
    )(fn)


def engine_options(fn):
    """--engine / --ray-address: where the work runs (vlmdata.ray: same output as one machine)."""
    fn = click.option(
        "--ray-address",
        metavar="ADDRESS",
        help="With --engine ray: the Ray cluster's head (HOST:PORT); default: start a local Ray.",
    )(fn)
    return click.option(
        "--engine",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="local: this process; ray: a Ray cluster's workers read, check and convert (needs the "
        "[ray] extra); the output is the same.",
    )(fn)
