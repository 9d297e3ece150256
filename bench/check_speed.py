"""Benchmark: `vlmtrain check`'s header-rule count vs the real processor on every sample.

    python bench/check_speed.py [--n 2000] [--out bench/results/check_speed.json]

Builds a 2,000-sample canonical shard of mixed image sizes (0-2 JPEG images per sample, 64-1600 px a
side, mixed aspect ratios; texts of varying length), then, in the same run and on the same records:
  rule route:      preflight() from the Parquet shard (pyarrow read, header sizes, one batched
                   text-only tokenization, per-family expansion rule)
  reference route: decode every image and run the real processor on every sample (what counting with
                   the collator's own processor costs), via vlmtrain.tokens.render.reference_length
and checks both give the same length for every sample. Families: Granite Vision (the real processor in
fixtures/) and Qwen2-VL (tiny model's tokenizer and template, Qwen2-VL's default pixel budget).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

WORDS = [
    "the",
    "a",
    "picture",
    "shows",
    "red",
    "blue",
    "green",
    "cat",
    "dog",
    "tree",
    "house",
    "car",
    "person",
    "sky",
    "water",
    "road",
    "sign",
    "chart",
    "table",
]


def make_records(n: int, seed: int = 0) -> list[dict]:
    from PIL import Image

    rng = random.Random(seed)
    records = []
    for i in range(n):
        images = []
        for _ in range(rng.choice([0, 1, 1, 1, 2])):
            w, h = rng.randint(64, 1600), rng.randint(64, 1600)
            buf = io.BytesIO()
            color = tuple(rng.randrange(256) for _ in range(3))
            Image.new("RGB", (w, h), color).save(buf, format="JPEG", quality=85)
            images.append({"bytes": buf.getvalue(), "path": f"img-{i}-{len(images)}.jpg"})
        question = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 60)))
        answer = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 120)))
        user = [{"type": "image", "text": None} for _ in images] + [{"type": "text", "text": question}]
        records.append(
            {
                "id": f"s{i:05d}",
                "messages": [
                    {"role": "user", "content": user},
                    {"role": "assistant", "content": [{"type": "text", "text": answer}]},
                ],
                "images": images,
                "source": "bench",
            }
        )
    return records


def write_shard(records: list[dict], directory: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vlmdata.record import ARROW_SCHEMA

    pq.write_table(
        pa.Table.from_pylist(records, schema=ARROW_SCHEMA), directory / "train-00000-of-00001.parquet"
    )


def processors(tmp: Path):
    from transformers import LlavaNextProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from vlmtrain.families import resolve_family
    from vlmtrain.tiny.make import make_tiny_model

    yield (
        "granite_vision",
        "llava_next",
        LlavaNextProcessor.from_pretrained(str(ROOT / "fixtures" / "granite_vision_processor")),
    )
    path = make_tiny_model("qwen2_vl", tmp / "tiny-qwen2vl")
    fam = resolve_family(path)
    tiny = fam.load_processor(path)
    proc = fam.no_video_processor_class()(
        image_processor=Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=28 * 28 * 1280),
        tokenizer=tiny.tokenizer,
        chat_template=tiny.chat_template,
    )
    yield "qwen2_vl (default pixel budget)", fam, proc


def bench_one(label, family, processor, data_dir: Path, records: list[dict], max_length: int) -> dict:
    from vlmtrain.data import iter_split
    from vlmtrain.families import resolve_family
    from vlmtrain.tokens.render import reference_length
    from vlmtrain.tokens.report import preflight

    t0 = time.perf_counter()
    report = preflight(iter_split(data_dir, "train"), processor, family, max_length, batch_size=8)
    rule_s = time.perf_counter() - t0

    fam = resolve_family(family)
    t0 = time.perf_counter()
    reference = [reference_length(processor, r, fam) for r in records]
    ref_s = time.perf_counter() - t0

    rule_lengths = [c.length for c in report.counts]
    mismatches = [i for i, (a, b) in enumerate(zip(rule_lengths, reference, strict=True)) if a != b]
    return {
        "family": label,
        "samples": len(records),
        "images": sum(len(r["images"]) for r in records),
        "rule_seconds": round(rule_s, 3),
        "reference_seconds": round(ref_s, 3),
        "speedup": round(ref_s / rule_s, 1),
        "rule_samples_per_second": round(len(records) / rule_s, 1),
        "reference_samples_per_second": round(len(records) / ref_s, 1),
        "mismatches": len(mismatches),
        "problems": len(report.problems),
        "length_p50": report.to_dict()["lengths"]["p50"],
        "length_max": report.to_dict()["lengths"]["max"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--max-length", type=int, default=4096)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "check_speed.json"))
    args = ap.parse_args()

    import transformers

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        records = make_records(args.n)
        data_dir = tmp / "data"
        data_dir.mkdir()
        write_shard(records, data_dir)
        build_s = time.perf_counter() - t0
        results = []
        for label, family, proc in processors(tmp):
            res = bench_one(label, family, proc, data_dir, records, args.max_length)
            print(json.dumps(res), flush=True)
            results.append(res)

    out = {
        "benchmark": "vlmtrain check: header rules vs the real processor on every sample",
        "dataset": f"{args.n} samples, 0-2 JPEG images each, 64-1600 px a side (seed 0); built in {build_s:.1f} s",
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpu(s), Python "
        f"{platform.python_version()}, transformers {transformers.__version__}",
        "results": results,
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = path.with_suffix(".tmp")
    tmp_path.write_text(json.dumps(out, indent=2) + "\n")
    os.replace(tmp_path, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
