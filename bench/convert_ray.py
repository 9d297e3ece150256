"""Benchmark: `vlmdata convert --engine ray` on a two-node local Ray cluster vs the single-process convert.

Issue 22: a 20,000-row (~1.7 GB) caption-style Parquet dataset (bench/convert_speed.py's data: typed
message parts, ~85 KB JPEGs embedded) converted to canonical shards, each route as a whole process (the
real CLI: `vlmdata convert SRC --to parquet --out DST [--engine ray --ray-address ...]`), timed back to
back on the same machine. The cluster (a head and a second node, one CPU each, `--object-store-mb` each)
is started once before the timings, as a user's cluster would be running already, inside a private
network namespace (Ray binds only loopback there). The shards of both routes are checked identical
(sha256). The workers run at the single process's niceness, 0 (`--worker-niceness`; Ray's default
is 15). On a 2-core machine Ray's overhead is the honest figure (goal: at most 2x the single-process
wall time); `per_worker_rows_per_s` is the cluster's rows/s divided by its workers, the figure a larger
cluster scales from. The shards are encoded and written on the workers (phase 2: one task per shard,
row groups planned by the driver from the rows' sizes); `shard_writing` times that work alone, in one
process (ShardWriter on the same batches): with fewer shards than workers it is the serial tail of the
Ray run. Each route's command process's CPU seconds are recorded too (for Ray: the driver's, which now
plans and commits only), with the load average before and after: the machine is shared.

    python bench/convert_ray.py [--rows 20000] [--repeats 1]    (needs root for unshare -n)
    -> bench/results/convert_ray.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from convert_speed import make_dataset, make_images  # noqa: E402

PORT = 6393
NODE = "--num-cpus=1 --object-store-memory={store} --node-ip-address=127.0.0.1"


def shards(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.parquet"))}


def run(args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command's own process): for the Ray route that process is the
    driver (planning parts, merging the workers' results, planning shards, the commit step)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vlmdata", *args], check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def shard_writing(shards_dir: Path, scratch: Path) -> tuple[float, float]:
    """(wall, CPU seconds) of writing the shards in one process: the output's rows, in 64-row Arrow
    batches, through one ShardWriter (encoding, compression, the files): what the write tasks do."""
    import pyarrow.parquet as pq

    from vlmdata.io import ShardWriter

    batches = [b for p in sorted(shards_dir.glob("*.parquet")) for b in pq.ParquetFile(p).iter_batches(64)]
    scratch.mkdir()
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    writer = ShardWriter(scratch, "train")
    for batch in batches:
        writer.write_batch(batch)
    writer.close()
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    shutil.rmtree(scratch)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def inside(work: Path, rows: int, repeats: int, out: Path, store_mb: int) -> None:
    """Runs in the namespace with the cluster up: both routes, alternating."""
    src = work / "src" / "train.parquet"
    times: dict[str, list[float]] = {"single_process": [], "ray_2_nodes": []}
    cpu: dict[str, list[float]] = {"single_process": [], "ray_2_nodes": []}
    load_before = os.getloadavg()
    for _ in range(repeats):
        for route, extra in (
            ("single_process", []),
            ("ray_2_nodes", ["--engine", "ray", "--ray-address", f"127.0.0.1:{PORT}"]),
        ):
            dst = work / route
            shutil.rmtree(dst, ignore_errors=True)
            wall, cpu_s = run(
                ["convert", str(src.parent), "--to", "parquet", "--out", str(dst), "-q", *extra]
            )
            times[route].append(wall)
            cpu[route].append(cpu_s)
    same = shards(work / "single_process") == shards(work / "ray_2_nodes")
    write_wall, write_cpu = shard_writing(work / "single_process", work / "rewrite")
    single, cluster = min(times["single_process"]), min(times["ray_2_nodes"])
    best = times["ray_2_nodes"].index(cluster)
    result = {
        "benchmark": "vlmdata convert --engine ray (two-node local cluster) vs single process",
        "rows": rows,
        "input_bytes": src.stat().st_size,
        "shards": len(shards(work / "single_process")),
        "shards_identical": same,
        "seconds": times,
        "cpu_seconds_of_the_command_process": cpu,
        "ray_driver_cpu_share_of_wall": round(cpu["ray_2_nodes"][best] / cluster, 2),
        "shard_writing": {  # the write tasks' work, in one process: ShardWriter alone, same batches
            "wall_s": round(write_wall, 2),
            "cpu_s": round(write_cpu, 2),
            "share_of_ray_wall": round(write_wall / cluster, 2),
        },
        "single_process_s": round(single, 2),
        "ray_s": round(cluster, 2),
        "ray_over_single": round(cluster / single, 2),
        "goal_ray_over_single_at_most": 2.0,
        "rows_per_s": {"single_process": round(rows / single, 1), "ray_2_nodes": round(rows / cluster, 1)},
        "per_worker_rows_per_s": round(rows / cluster / 2, 1),
        "cluster": f"2 nodes x 1 CPU, {store_mb} MB object store each, 127.0.0.1 in a private network namespace",
        "ray_worker_niceness": int(os.environ.get("RAY_worker_niceness", "15")),  # noqa: SIM112 (Ray's name)
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before_after": [
                [round(x, 2) for x in load_before],
                [round(x, 2) for x in os.getloadavg()],
            ],
        },
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "convert_ray.json")
    parser.add_argument(
        "--worker-niceness",
        type=int,
        default=0,
        help="the cluster's RAY_worker_niceness (Ray's default is 15: on a shared, loaded machine its "
        "workers then yield to every other process while the single-process route runs at 0)",
    )
    parser.add_argument(
        "--object-store-mb",
        type=int,
        default=200,
        help="each node's object store (Ray's own default is 30%% of memory; a small one spills to disk)",
    )
    parser.add_argument("--inside", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.inside, args.rows, args.repeats, args.out, args.object_store_mb)
        return
    with tempfile.TemporaryDirectory(prefix="convert-ray-") as tmp:
        work = Path(tmp)
        (work / "src").mkdir()
        make_dataset(work / "src" / "train.parquet", args.rows, make_images(64))
        ray = Path(sys.executable).parent / "ray"
        node = NODE.format(store=args.object_store_mb * 1_000_000)
        script = (
            "set -e; ip link set lo up; export RAY_USAGE_STATS_ENABLED=0 RAY_AUTH_MODE=disabled; "
            f"export RAY_worker_niceness={args.worker_niceness}; "
            f"{ray} start --head --port={PORT} {node} --include-dashboard=false --disable-usage-stats >/dev/null; "
            f"{ray} start --address=127.0.0.1:{PORT} {node} >/dev/null; set +e; "
            f"{sys.executable} {__file__} --inside {work} --rows {args.rows} --repeats {args.repeats} "
            f"--object-store-mb {args.object_store_mb} "
            f"--out {args.out.resolve()}; rc=$?; {ray} stop --force >/dev/null 2>&1; exit $rc"
        )
        subprocess.run(["unshare", "-n", "sh", "-c", script], check=True)


if __name__ == "__main__":
    main()
