"""A real two-node Ray cluster for the `--engine ray` tests, inside a private network namespace.

    results = run_in_cluster(workdir, [["convert", SRC, "--to", "parquet", "--out", OUT], ...], env)
      -> [{"exit_code": 0, "output": "...", "stderr": "..."}, ...]    # one per command, in order

Every Ray process runs under `unshare -n` with only loopback up: outside one, Ray binds the machine's
external interface even when told 127.0.0.1. The head and a second node get one CPU each and a small
object store; one driver script (cluster_driver.py) runs all the commands through the real CLI, so the
cluster starts once per test module.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
PORT = 6391
RAY_NODE = "--num-cpus=1 --object-store-memory=200000000 --node-ip-address=127.0.0.1"


def ray_missing_reason() -> str | None:
    """Why the cluster tests cannot run here (None: they can)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return "ray is not installed (pip install 'vlmkit[ray]')"
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare/ip not found: the Ray cluster must run in a private network namespace"
    probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True)
    if probe.returncode != 0:
        return f"unshare -n is not permitted here (needs root): {probe.stderr.decode().strip()}"
    return None


def run_in_cluster(workdir: Path, commands: list[dict], env: dict | None = None, timeout: int = 900) -> list:
    """commands: {"args": [...], "env": {...}} for the CLI (ray address added), or {"kill": [...]}: run
    that convert as a process and SIGKILL one Ray worker while it converts."""
    bin_dir = Path(sys.executable).parent
    spec = workdir / "commands.json"
    spec.write_text(json.dumps(commands, default=str))
    results = workdir / "results.json"
    script = (
        # No token authentication: the cluster lives in a private network namespace, and a token left in
        # ~/.ray by an earlier local `ray.init()` (Ray 2.5x+ makes one) would otherwise switch it on.
        "set -e; ip link set lo up; export RAY_USAGE_STATS_ENABLED=0 RAY_AUTH_MODE=disabled; "
        f"{bin_dir}/ray start --head --port={PORT} {RAY_NODE} --include-dashboard=false "
        f"--disable-usage-stats > {workdir}/ray-head.log 2>&1; "
        f"{bin_dir}/ray start --address=127.0.0.1:{PORT} {RAY_NODE} > {workdir}/ray-node.log 2>&1; "
        f"set +e; {sys.executable} {REPO}/tests/cluster_driver.py 127.0.0.1:{PORT} {spec} {results}; rc=$?; "
        f"{bin_dir}/ray stop --force > /dev/null 2>&1; exit $rc"
    )
    full_env = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})}
    done = subprocess.run(
        ["unshare", "-n", "sh", "-c", script], cwd=workdir, env=full_env, capture_output=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:] + (workdir / "ray-head.log").read_text()[-2000:]
    return json.loads(results.read_text())


# -- data ---------------------------------------------------------------------------------------------
def pair_records(n: int, images: int = 12, bad: dict | None = None) -> list:
    """sharegpt-style records with image paths; every third has no id (its id comes from its index)."""
    out = []
    for i in range(n):
        rec = {
            "messages": [
                {"role": "user", "content": f"<image>What is shown in picture {i}?"},
                {"role": "assistant", "content": f"A square of colour {i % images}."},
            ],
            "images": [f"images/{i % images}.png"],
        }
        if i % 3:
            rec = {"id": f"pair-{i}", **rec}
        out.append(rec)
    for i, change in (bad or {}).items():
        out[i] = change(out[i])
    return out


def write_pairs(folder: Path, records: list, images: int = 12, lines: dict | None = None) -> Path:
    """folder/train.jsonl and its images; `lines`: raw replacement lines (malformed JSON) by index."""
    from data_helpers import png_bytes

    (folder / "images").mkdir(parents=True, exist_ok=True)
    for k in range(images):
        (folder / "images" / f"{k}.png").write_bytes(png_bytes((20 * k % 256, 90, 200), (48 + k, 40)))
    text = [json.dumps(r) for r in records]
    for i, line in (lines or {}).items():
        text[i] = line
    (folder / "train.jsonl").write_text("\n".join(text) + "\n")
    return folder


PART = pa.struct([("index", pa.int64()), ("text", pa.string()), ("type", pa.string())])
CAPTION_SCHEMA = pa.schema(
    [
        ("messages", pa.list_(pa.struct([("content", pa.list_(PART)), ("role", pa.string())]))),
        ("images", pa.list_(pa.struct([("bytes", pa.binary()), ("path", pa.string())]))),
    ]
)


def write_captions(path: Path, rows: int, row_group: int = 70) -> Path:
    """A TRL-style caption Parquet file (typed parts with `index`, embedded images): convert's Arrow path."""
    from data_helpers import png_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    images = [png_bytes((k * 9 % 256, 30, 60), (64, 64)) for k in range(16)]
    writer = pq.ParquetWriter(path, CAPTION_SCHEMA, compression="snappy")
    for start in range(0, rows, row_group):
        batch = []
        for i in range(start, min(rows, start + row_group)):
            batch.append(
                {
                    "messages": [
                        {
                            "role": "user",
                            "content": [
                                {"index": 0, "text": None, "type": "image"},
                                {"index": None, "text": "Describe this image.", "type": "text"},
                            ],
                        },
                        {
                            "role": "assistant",
                            "content": [{"index": None, "text": f"caption {i}", "type": "text"}],
                        },
                    ],
                    "images": [{"bytes": images[i % 16], "path": None}],
                }
            )
        writer.write_table(pa.Table.from_pylist(batch, schema=CAPTION_SCHEMA))
    writer.close()
    return path
