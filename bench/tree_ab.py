"""A/B of two source trees on the data tools' hot paths, CPU time pinned to one core, runs alternating.

Used to check that a refactor kept `validate` and `convert` as fast as before (issue 18: the layers
refactor, old tree 0817955 vs the refactored one): on a shared, loaded machine wall time varies 3x run to
run, while the CPU time of a process pinned to one core stays within a few percent, so both trees are
measured the same way, alternating, and the minimum of each is compared.

    git worktree add --detach /tmp/old 0817955
    python bench/tree_ab.py /tmp/old . --out bench/results/tree_ab_layers.json

- validate: `vlmdata.validate.validate(path, open_images=False)` in-process on 200,000 generated records
  (validate_speed.py's records: OAI through the columnar pass, ShareGPT record by record), 3 calls per
  process after a warm-up call; CPU seconds of the calls.
- convert: `python -m vlmdata convert SRC --to parquet --out DST` as a whole process on 6,000 caption rows
  with embedded images (convert_speed.py's data, 520 MB), CPU seconds (user + sys) of the child; the
  pyarrow stream copy of the same file as the reference.
"""

from __future__ import annotations

import argparse
import json
import os
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
from validate_speed import make_records  # noqa: E402

VALIDATE_CHILD = """
import json, sys, time
from pathlib import Path
from vlmdata.validate import validate
path, fmt, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
validate(path, fmt=fmt, open_images=False)
cpus = []
for _ in range(3):
    c = time.process_time()
    report = validate(path, fmt=fmt, open_images=False)
    cpus.append(time.process_time() - c)
    assert report.ok and report.records == n, report.summary()
print(json.dumps(cpus))
"""


def pinned(cmd: list[str], tree: Path, core: int) -> tuple[float, float, str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(
        cmd, check=True, capture_output=True, text=True, env=env,
        preexec_fn=lambda: os.sched_setaffinity(0, {core}),
    )  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return round(wall, 3), round(cpu, 3), out.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--rows", type=int, default=6000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--core", type=int, default=1)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "tree_ab.json")
    ns = ap.parse_args()
    trees = {"old": ns.old.resolve(), "new": ns.new.resolve()}
    work = Path(tempfile.mkdtemp(prefix="tree-ab-"))
    load_before = os.getloadavg()
    try:
        from PIL import Image

        (work / "images").mkdir()
        for k in range(50):
            Image.new("RGB", (32, 32), (k, 0, 0)).save(work / "images" / f"{k}.png")
        validate_cpu = {fmt: {side: [] for side in trees} for fmt in ("oai", "sharegpt")}
        for fmt in validate_cpu:
            with open(work / f"{fmt}.jsonl", "w") as fh:
                for r in make_records(fmt, ns.records):
                    fh.write(json.dumps(r) + "\n")
        src = work / "captions.parquet"
        make_dataset(src, ns.rows, make_images(200))
        convert_cpu = {side: [] for side in (*trees, "pyarrow_copy")}
        copy = (
            "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[3]); "
            "from convert_speed import pyarrow_copy; pyarrow_copy(Path(sys.argv[1]), Path(sys.argv[2]))"
        )
        for _ in range(ns.repeats):
            for side, tree in trees.items():
                for fmt in validate_cpu:
                    cmd = [
                        sys.executable,
                        "-c",
                        VALIDATE_CHILD,
                        str(work / f"{fmt}.jsonl"),
                        fmt,
                        str(ns.records),
                    ]
                    validate_cpu[fmt][side] += [
                        round(c, 3) for c in json.loads(pinned(cmd, tree, ns.core)[2])
                    ]
                shutil.rmtree(work / "out", ignore_errors=True)
                cmd = [
                    sys.executable,
                    "-m",
                    "vlmdata",
                    "convert",
                    str(src),
                    "--to",
                    "parquet",
                    "--out",
                    str(work / "out"),
                ]
                convert_cpu[side].append(pinned(cmd, tree, ns.core)[:2])
            shutil.rmtree(work / "out", ignore_errors=True)
            cmd = [sys.executable, "-c", copy, str(src), str(work / "out"), str(HERE)]
            convert_cpu["pyarrow_copy"].append(pinned(cmd, trees["new"], ns.core)[:2])
        result = {
            "benchmark": "tree_ab",
            "trees": {side: str(tree) for side, tree in trees.items()},
            "commits": {
                side: subprocess.run(
                    ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
                ).stdout.strip()
                for side, tree in trees.items()
            },
            "cpus": os.cpu_count(),
            "pinned_core": ns.core,
            "load_average_before_after": [load_before, os.getloadavg()],
            "validate": {
                "records": ns.records,
                "cpu_seconds": validate_cpu,
                "min_cpu_seconds": {f: {s: min(v) for s, v in d.items()} for f, d in validate_cpu.items()},
                "new_over_old_min_cpu": {
                    f: round(min(d["new"]) / min(d["old"]), 3) for f, d in validate_cpu.items()
                },
            },
            "convert": {
                "rows": ns.rows,
                "bytes": src.stat().st_size,
                "wall_cpu_seconds": convert_cpu,
                "min_cpu_seconds": {s: min(c for _, c in v) for s, v in convert_cpu.items()},
                "new_over_old_min_cpu": round(
                    min(c for _, c in convert_cpu["new"]) / min(c for _, c in convert_cpu["old"]), 3
                ),
            },
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ns.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
