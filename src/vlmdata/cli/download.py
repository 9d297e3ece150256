"""`vlmdata download SOURCE --out DIR`."""

from __future__ import annotations

import functools

import click

from vlmdata.cli import handle_errors
from vlmdata.cli.options import engine_options, output_format_option, skip_invalid_option
from vlmdata.errors import UsageError
from vlmdata.formats import parquet


@click.command("download")
@click.argument("source")
@click.option("--out", required=True, type=click.Path(), help="Output folder (created atomically).")
@click.option(
    "--subset", "subsets", multiple=True, help="the_cauldron subset or Hub config, repeatable; or 'all'."
)
@click.option("--split", default="train", show_default=True, help="Source split read as train.")
@click.option("--num-train-samples", type=click.IntRange(min=0), help="First N train rows (per subset).")
@click.option("--num-val-samples", type=click.IntRange(min=0), help="First N validation rows (per subset).")
@click.option(
    "--val-ratio",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of rows sent to validation when the source has no validation split.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for prompts and --val-ratio.")
@click.option("--revision", help="Hub branch, tag or commit to read.")
@click.option("--streaming", is_flag=True, help="Stream the source; never store it whole on disk.")
@click.option(
    "--num-proc", type=click.IntRange(min=1), help="Fetch and prepare this many source files at once."
)
@click.option("--shard", help="Read only part i of N (by source file), e.g. 0/8, for cluster jobs.")
@output_format_option("--format", "fmt", default=parquet.NAME)
@click.option(
    "--allow-lossy", is_flag=True, help="JSON formats: convert rows they can't express; list changes."
)
@skip_invalid_option
@click.option(
    "--hub-mirror",
    type=click.Path(exists=True, file_okay=False),
    help="Read repos from DIR/<org>/<name> instead of the Hub (also VLMDATA_HUB_MIRROR).",
)
@click.option("--repo", help="Read another repo with the same columns (e.g. a pokemon mirror).")
@click.option("--prompt", help="Caption sources: use this one prompt for every row.")
@click.option("--prompts-file", type=click.Path(exists=True, dir_okay=False), help="One prompt per line.")
@click.option("--columns", help="Column map for other datasets: image=..,text=.. or question=..,answer=..")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="datasets cache folder.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder.")
@engine_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@handle_errors
def command(fmt, shard, columns, engine, ray_address, **params):
    """Download a dataset and write it as ready-to-train shards.

    SOURCE is a built-in source (the_cauldron, naruto, pokemon, food101), hub:ORG/NAME for any Hub
    dataset, or a local folder. The folder gets train/validation shards, a README.md dataset card
    (datasets.load_dataset(DIR) works; push it to the Hub as it is) and manifest.json.

    \b
    vlmdata download naruto --out data/naruto
    vlmdata download the_cauldron --subset ai2d --subset vqav2 --out data/mix --streaming
    vlmdata download food101 --num-train-samples 5000 --format sharegpt --out data/food
    vlmdata download hub:org/name --columns image=img,question=q,answer=a --out data/x
    vlmdata download the_cauldron --subset all --shard 3/16 --streaming --out part-3
    vlmdata download the_cauldron --subset all --out data/mix --engine ray --ray-address HEAD:6379
    """
    from vlmdata.download import DownloadOptions, download, parse_shard
    from vlmdata.ray.download import download as download_on_ray
    from vlmdata.sources import parse_columns

    if params["prompt"] is not None and not params["prompt"].strip():
        raise UsageError("--prompt is empty")
    params.update(
        subsets=tuple(params["subsets"]),
        shard=parse_shard(shard) if shard else None,
        format=fmt,
        columns=parse_columns(columns),
    )
    # said as they happen, even with --quiet: an offline fallback changes the data
    run = functools.partial(download_on_ray, address=ray_address) if engine == "ray" else download
    report = run(DownloadOptions(**params), on_notice=lambda text: click.echo(text, err=True))
    out, quiet = params["out"], params["quiet"]
    if not quiet:
        rows = ", ".join(f"{n} {s}" for s, n in report.rows.items()) or "no"
        click.echo(f"Wrote {out}: {rows} rows from {report.repo} ({report.loaded_from}).")
    if report.skipped:
        click.echo(
            f"Skipped {len(report.skipped)} invalid row(s) (--skip-invalid); each is listed in "
            f"{out}/manifest.json under 'skipped'.",
            err=True,
        )
