"""Benchmark: `vlmdata view` on a 1,000,000-record canonical Parquet dataset, run as the real command.

Targets (issue 12): the first page (HTML and its thumbnails) in under 2 s from starting the command
(median of 3 starts; the machine's load average is recorded, the 2 cores are shared), and
the server's memory flat while paging through the dataset (row groups read on demand, never the whole
file). Measured in the same run, for reference:
  - the same first page on a 10,000-record dataset (what "does not depend on size" should look like);
  - the usual way to look at a Parquet dataset: `pandas.read_parquet` of the whole file (time to the
    first row, and peak memory), in its own process.

The records are caption-style (one image, a question, a 60-120 character answer); the images are a few
distinct 64x48 PNGs so the dataset stays small on disk (Parquet dictionary-encodes repeated bytes).
RSS is sampled from the server process (psutil) after every page, with its thumbnails fetched, first
while the background index and validation run, then over --passes passes of the same pages after they
finish: the first pass fills the bounded caches, and flat means the later passes peak no higher.

    python bench/view_scale.py [--records 1000000] [--pages 200] [--passes 3]
    -> bench/results/view_scale.json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pyarrow as pa

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PER_PAGE = 20
WORDS = [
    "red",
    "blue",
    "small",
    "large",
    "cat",
    "dog",
    "house",
    "tree",
    "car",
    "boat",
    "bird",
    "sky",
    "water",
    "road",
    "field",
    "city",
]


def make_images(n: int) -> list[bytes]:
    from PIL import Image

    out = []
    for i in range(n):
        buf = io.BytesIO()
        Image.new("RGB", (64, 48), (40 * i % 256, 90, 160)).save(buf, "PNG")
        out.append(buf.getvalue())
    return out


def build(folder: Path, n: int, chunk: int = 50_000) -> dict:
    """n canonical records written through vlmdata's own ShardWriter (what download/convert write)."""
    from vlmdata.io import ShardWriter
    from vlmdata.record import ARROW_SCHEMA

    folder.mkdir(parents=True)
    images = make_images(4)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    writer = ShardWriter(folder, "train")
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        rows = []
        for i in range(lo, hi):
            words = " ".join(WORDS[j] for j in rng.integers(0, len(WORDS), 12))
            rows.append(
                {
                    "id": f"rec-{i:07d}",
                    "messages": [
                        {"role": "user", "content": [{"type": "image", "text": None},
                                                     {"type": "text", "text": "Describe the picture."}]},
                        {"role": "assistant", "content": [{"type": "text", "text": f"A picture {i}: {words}."}]},
                    ],
                    "images": [{"bytes": images[i % len(images)], "path": f"{i % len(images)}.png"}],
                    "source": f"bench/{'ab'[i % 2]}",
                }
            )  # fmt: skip
        writer.write_batch(pa.Table.from_pylist(rows, schema=ARROW_SCHEMA))
    files = writer.close()
    return {
        "records": n,
        "files": len(files),
        "bytes_on_disk": sum(f.stat().st_size for f in files),
        "build_s": round(time.perf_counter() - start, 1),
    }


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.read()


class Server:
    def __init__(self, folder: Path):
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vlmdata", "view", str(folder), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        line = self.proc.stdout.readline()
        m = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        if not m:
            raise SystemExit(f"server did not start: {line!r} {self.proc.stderr.read()}")
        self.url = m.group(1)
        self.url_s = time.perf_counter() - self.t0
        import psutil

        self.ps = psutil.Process(self.proc.pid)

    def rss_mb(self) -> float:
        return round(self.ps.memory_info().rss / 1e6, 1)

    def page(self, number: int) -> float:
        """Seconds to fetch one page and every thumbnail on it."""
        start = time.perf_counter()
        html = get(f"{self.url}?page={number}").decode()
        for src in re.findall(r'<img class="thumb" src="([^"]+)"', html):
            get(self.url + src.lstrip("/").replace("&amp;", "&"))
        return time.perf_counter() - start

    def status(self) -> dict:
        return json.loads(get(self.url + "api/status"))

    def close(self):
        self.proc.terminate()
        self.proc.wait(30)


def first_page(folder: Path) -> dict:
    server = Server(folder)
    try:
        html = get(server.url).decode()
        html_s = time.perf_counter() - server.t0
        for src in re.findall(r'<img class="thumb" src="([^"]+)"', html):
            get(server.url + src.lstrip("/"))
        total = re.search(r'<span id="total">([\d,]+)</span>', html).group(1)
        return {
            "url_printed_s": round(server.url_s, 3),
            "first_page_html_s": round(html_s, 3),
            "first_page_with_thumbnails_s": round(time.perf_counter() - server.t0, 3),
            "records_shown": html.count('<article class="record'),
            "total_on_page": total,
        }
    finally:
        server.close()


def paging(folder: Path, n: int, pages: int, passes: int = 3) -> dict:
    """Page through the dataset (spread over all of it) while sampling the server's RSS: once while the
    index is built, then `passes` times after it finished."""
    last = -(-n // PER_PAGE)
    numbers = np.linspace(1, last, pages).astype(int).tolist()
    server = Server(folder)
    try:
        server.page(1)
        during, during_s = [], []
        for number in numbers:
            during_s.append(server.page(number))
            during.append(server.rss_mb())
        wait_start = time.perf_counter()
        while not server.status()["done"]:
            time.sleep(1)
        index_done_s = time.perf_counter() - server.t0
        status = server.status()
        server.page(1)
        after, after_s = [], []
        for _ in range(passes):
            rss = []
            for number in numbers:
                after_s.append(server.page(number))
                rss.append(server.rss_mb())
            after.append(rss)
        search_start = time.perf_counter()
        hits = json.loads(get(server.url + "api/records?q=rec-0999999"))["total"]
        search_s = time.perf_counter() - search_start
        return {
            "pages_fetched_per_phase": len(numbers),
            "page_numbers": f"{numbers[0]}..{numbers[-1]} (evenly spread)",
            "during_indexing": {
                "rss_mb_first": during[0], "rss_mb_last": during[-1], "rss_mb_max": max(during),
                "page_s_median": round(statistics.median(during_s), 3), "page_s_max": round(max(during_s), 3),
            },
            "index_and_validate_done_s": round(index_done_s, 1),
            "waited_for_index_s": round(time.perf_counter() - wait_start, 1),
            "status_after": status,
            "after_indexing": {
                "passes": passes,
                "rss_mb_after_first_page": after[0][0],
                "rss_mb_end_of_each_pass": [r[-1] for r in after],
                "rss_mb_max_of_each_pass": [max(r) for r in after],
                "rss_mb_min_after_first_pass": min(x for r in after[1:] for x in r),
                "rss_mb_every_10th_page": [r[i] for r in after for i in range(0, len(r), 10)],
                "page_s_median": round(statistics.median(after_s), 3), "page_s_max": round(max(after_s), 3),
            },
            "search_one_id_s": round(search_s, 2),
            "search_hits": hits,
        }  # fmt: skip
    finally:
        server.close()


PANDAS = """
import resource, sys, time
t = time.perf_counter()
import pandas as pd, glob
df = pd.concat([pd.read_parquet(f) for f in sorted(glob.glob(sys.argv[1] + "/*.parquet"))])
row = df.iloc[0]["id"]
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000, len(df))
"""


def pandas_reference(folder: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PANDAS, str(folder)], capture_output=True, text=True, check=True
    )
    seconds, peak, rows = out.stdout.split()
    return {"first_row_s": round(float(seconds), 2), "peak_rss_mb": round(float(peak), 1), "rows": int(rows)}


def targets(result: dict) -> dict:
    """First page under 2 s (median start). Memory flat while paging: the first pass over the dataset
    fills the server's bounded caches (a few row groups, a few MB of thumbnails); every later pass over
    the same spread of pages stays within 5% of the first pass's peak, so memory does not grow with the
    number of pages served."""
    after = result["paging"]["after_indexing"]
    first_peak = after["rss_mb_max_of_each_pass"][0]
    later_peak = max(after["rss_mb_max_of_each_pass"][1:])
    return {
        "first_page_under_2s": result["first_page"]["first_page_with_thumbnails_s"] < 2.0,
        "rss_flat_while_paging": later_peak <= 1.05 * first_peak,
    }


def _median_run(runs: list[dict]) -> dict:
    """The run with the median first-page time, plus every run's time."""
    key = "first_page_with_thumbnails_s"
    ordered = sorted(runs, key=lambda r: r[key])
    return {**ordered[len(ordered) // 2], "all_runs_with_thumbnails_s": [r[key] for r in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=200, help="pages per pass")
    parser.add_argument("--passes", type=int, default=3, help="passes over the pages after indexing")
    parser.add_argument(
        "--repeats", type=int, default=3, help="first-page runs of each dataset (median kept)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "view_scale.json")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="view-bench-"))
    try:
        big, small = tmp / "big", tmp / "small"
        built = build(big, args.records)
        print("built", built, flush=True)
        build(small, args.small)
        big_runs, small_runs = [], []
        for _ in range(args.repeats):  # alternating, so both see the same machine load
            big_runs.append(first_page(big))
            small_runs.append(first_page(small))
        result = {
            "benchmark": "vlmdata view: first page and memory while paging",
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                        "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
            "dataset": built,
            "first_page": _median_run(big_runs),
            "reference_first_page_small": {"records": args.small, **_median_run(small_runs)},
        }  # fmt: skip
        print("first page", result["first_page"], flush=True)
        result["paging"] = paging(big, args.records, args.pages, args.passes)
        print("paging", result["paging"], flush=True)
        result["reference_pandas_read_whole"] = pandas_reference(big)
        result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        result["targets"] = targets(result)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
