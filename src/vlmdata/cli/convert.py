"""`vlmdata convert SRC --to FORMAT --out DIR`."""

from __future__ import annotations

import click

from vlmdata.cli import handle_errors
from vlmdata.cli.options import (
    check_images_option,
    engine_options,
    input_format_option,
    max_pixels_option,
    media_dir_option,
    output_format_option,
    skip_invalid_option,
    take_writer_options,
    video_options,
    writer_options,
)
from vlmdata.formats.parquet import MAX_SHARD_BYTES as DEFAULT_MAX_SHARD_BYTES

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


def parse_size(text: str) -> int:
    """'500MB' -> 500_000_000, '1GiB' -> 1_073_741_824, '1000' -> 1000."""
    number = text.strip().rstrip("BbIiKkMmGg")
    unit = text.strip()[len(number) :].upper()
    try:
        value = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        raise click.BadParameter(f"{text!r} is not a size such as 500MB or 1GiB") from None
    if value < 1:
        raise click.BadParameter("size must be positive")
    return int(value)


@click.command("convert")
@click.argument("src", type=click.Path(exists=True))
@output_format_option("--to", "to")
@click.option("--out", "out", required=True, type=click.Path(), help="Output folder (created atomically).")
@input_format_option
@click.option(
    "--allow-lossy", is_flag=True, help="Convert records the target can't express; list every change."
)
@skip_invalid_option
@check_images_option
@max_pixels_option
@video_options
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
@click.option(
    "--max-shard-size",
    default=str(DEFAULT_MAX_SHARD_BYTES),
    show_default=True,
    help="Largest Parquet shard, e.g. 500MB or 1GiB.",
)
@media_dir_option
@writer_options
@engine_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@handle_errors
def command(src, to, out, fmt, allow_lossy, skip_invalid, check_images, max_pixels, check_videos,
            max_video_pixels, overwrite, max_shard_size, media_dir, engine, ray_address, quiet,
            **writer_params):  # fmt: skip
    """Check a dataset as validate does, then convert it between oai, sharegpt, llava and Parquet.

    SRC is a .json/.jsonl/.parquet file or a folder of them (a LLaMA-Factory folder is read through its
    dataset_info.json). The input format is detected per file. A record validate refuses stops the
    run and nothing is written; --skip-invalid writes the others and lists every skipped record (also
    in OUT/conversion_report.json).

    \b
    vlmdata convert data/naruto --to sharegpt --out data/naruto-lf
    vlmdata convert llava_instruct.json --to parquet --out data/llava --media-dir coco/
    vlmdata convert data/big --to parquet --out data/big-pq --engine ray --ray-address HEAD:6379
    """
    from vlmdata.convert import REPORT_FILE, convert
    from vlmdata.ray.convert import convert as convert_on_ray

    report = (convert_on_ray if engine == "ray" else convert)(
        src,
        to,
        out,
        fmt=fmt,
        allow_lossy=allow_lossy,
        overwrite=overwrite,
        max_shard_bytes=parse_size(max_shard_size),
        media_dir=media_dir,
        writer_options=take_writer_options(writer_params),
        skip_invalid=skip_invalid,
        check_images=check_images,
        max_pixels=max_pixels,
        check_videos=check_videos,
        max_video_pixels=max_video_pixels,
        quiet=quiet,
        **({"address": ray_address} if engine == "ray" else {}),
    )
    if report.skipped:  # said even with --quiet: records are missing from the output
        click.echo(
            f"Skipped {len(report.skipped)} invalid record(s) (listed in {out}/{REPORT_FILE}):", err=True
        )
        for s in report.skipped[:20]:
            first = s["problems"][0].replace("\n", "\n    ")
            click.echo(f"  {s['file']} record {s['record']} (id {s['id']}): {first}", err=True)
        if len(report.skipped) > 20:
            click.echo(f"  ... and {len(report.skipped) - 20} more", err=True)
    if quiet:
        return
    rows = ", ".join(f"{split}: {n}" for split, n in sorted(report.rows.items())) or "no rows"
    outside = (
        f", {report.images_outside} read from outside the dataset folder" if report.images_outside else ""
    )
    click.echo(
        f"Wrote {to} to {out} ({rows}; {report.images} image references{outside}, "
        f"{report.images_stored} image files)"
    )
    for note in report.normalised:
        click.echo(f"normalised: {note}", err=True)
    if report.changes:
        click.echo(
            f"{report.changed_records} record(s) changed to fit {to} (listed in {out}/{REPORT_FILE}):",
            err=True,
        )
        for c in report.changes[:20]:
            click.echo(f"  {c['file']} record {c['record']} (id {c['id']}): {c['change']}", err=True)
        if len(report.changes) > 20:
            click.echo(f"  ... and {len(report.changes) - 20} more", err=True)
