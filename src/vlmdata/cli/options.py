"""Click options shared by several commands, their choices taken from the format registry."""

from __future__ import annotations

import click

from vlmdata.formats import INPUT_CHOICES, OUTPUT_FORMATS


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
