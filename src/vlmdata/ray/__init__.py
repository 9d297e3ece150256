"""vlmdata on a Ray cluster: `--engine ray` for convert, validate and download, and the per-batch steps
for users' own Ray Data pipelines. Needs the `ray` extra (pip install 'vlmkit[ray]').

    vlmdata convert data/big --to parquet --out data/big-pq --engine ray --ray-address HEAD:6379

    import ray.data, vlmdata.ray
    ds = ray.data.read_json("s3://bucket/pairs/")             # records in one of the formats
    checked = ds.map_batches(vlmdata.ray.Validate(format="oai", root="/data/pairs"), batch_format="pyarrow")
    canonical = ds.map_batches(vlmdata.ray.Convert(format="oai", root="/data/pairs"), batch_format="pyarrow")

The engine (vlmdata.ray.engine) cuts every input file into parts (JSONL byte ranges, Parquet row ranges,
other files whole) and runs the single-machine code on each part on a worker: reading, validate's checks,
the format readers, image files read from their paths. Results come back in input order to one commit
step on the driver (convert's Job.output, validate's report, download's checkpoint), which names the
shards, writes card, manifest and report, and renames the staged folder into place: the output is the
single-machine run's, byte for byte, or nothing. convert's Parquet shards are written on the workers
too (vlmdata.ray.shards): the driver plans them from the rows' sizes by the single-machine rule.
"""

from __future__ import annotations

from vlmdata.errors import UsageError

INSTALL_HINT = "install it with: pip install 'vlmkit[ray]'"


def require():
    """The `ray` module, or a UsageError (exit 2) saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError(f"--engine ray needs Ray, which is not installed; {INSTALL_HINT}") from None
    return ray


def __getattr__(name: str):
    # The per-batch steps import pyarrow and the checks; `import vlmdata.ray` alone stays light.
    if name in ("Validate", "Convert"):
        from vlmdata.ray import batches

        return getattr(batches, name)
    raise AttributeError(name)


__all__ = ["INSTALL_HINT", "Convert", "Validate", "require"]
