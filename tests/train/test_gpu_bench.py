"""The GPU benchmark's dry run (bench/gpu): the one command a user runs, on CPU with the tiny models.

It goes through the same code as the GPU run (real configs built on the meta device, models materialized
with to_empty + init, vlmtrain's collators, packing and methods, the training loop, the JSON report), so a
device lent for a few minutes spends them measuring, not debugging."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.train]

ROOT = Path(__file__).resolve().parents[2]
RUN_KEYS = {"model", "method", "path", "status"}
OK_KEYS = {
    "collator",
    "attn_implementation",
    "trainable_params",
    "steps",
    "step_seconds",
    "real_tokens_per_s",
    "padded_tokens_per_s",
    "pad_fraction",
    "peak_memory_gib",
    "memory_kind",
    "loader",
    "loss",
}
LOADER_KEYS = {"collate_samples_per_s", "gpu_samples_per_s", "keeps_up_with_one_worker", "workers_needed"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-bench")
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("OUT", None)
    proc = subprocess.run(
        ["bash", str(ROOT / "bench" / "gpu" / "run.sh"), "--dry-run", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "wrote" in proc.stdout
    return json.loads((out / "gpu_train_dry_run.json").read_text())


def test_report_shape(report):
    assert report["benchmark"] == "gpu_train" and report["dry_run"] is True
    assert {"torch", "transformers", "peft", "python"} <= report["environment"].keys()
    assert {"samples", "batch_size", "warmup_steps", "timed_steps"} <= report["settings"].keys()
    assert set(report["models"]) == {"qwen2_5_vl_7b", "gemma3_4b"}
    # The real configs were built (on the meta device): the published parameter counts.
    assert report["models"]["qwen2_5_vl_7b"]["real_params"] == 8_292_166_656
    assert report["models"]["gemma3_4b"]["real_params"] == 4_300_079_472
    assert report["budget"]["used_seconds"] > 0


def test_every_mode_ran_or_says_why(report):
    runs = report["runs"]
    seen = {(r["model"], r["method"], r["path"]) for r in runs}
    assert len(seen) == len(runs) == 2 * 3 * 4  # models x methods x paths, each once
    for run in runs:
        assert run.keys() >= RUN_KEYS, run
        assert run["status"] in ("ok", "skipped"), run  # no error, no OOM on CPU
        if run["status"] == "skipped":
            assert run["reason"], run
            continue
        assert run.keys() >= OK_KEYS, run
        assert run["loader"].keys() >= LOADER_KEYS
        assert run["steps"]["timed"] >= 1 and run["real_tokens_per_s"] > 0
        assert 0 <= run["pad_fraction"] < 1


def test_what_runs_on_cpu(report):
    status = {(r["model"], r["method"], r["path"]): r for r in report["runs"]}
    for method in ("lora", "full") + (("qlora",) if importlib.util.find_spec("bitsandbytes") else ()):
        assert status[("qwen2_5_vl_7b", method, "grouped")]["status"] == "ok"
        assert status[("qwen2_5_vl_7b", method, "packed_sdpa")]["status"] == "ok"
        assert status[("gemma3_4b", method, "grouped")]["status"] == "ok"
        # Gemma 3 refuses packing (bidirectional image attention): vlmtrain's own reason is recorded.
        assert "cannot be packed" in status[("gemma3_4b", method, "packed_sdpa")]["reason"]
        assert "CUDA" in status[("qwen2_5_vl_7b", method, "packed_flash")]["reason"]
    packed = status[("qwen2_5_vl_7b", "lora", "packed_sdpa")]
    assert packed["pad_fraction"] == 0.0 and packed["attn_implementation"] == "vlmtrain_packed_sdpa"
    stock = status[("qwen2_5_vl_7b", "lora", "stock")]
    if importlib.util.find_spec("trl"):
        assert stock["status"] == "ok" and stock["collator"] == "DataCollatorForVisionLanguageModeling"
    else:
        assert "trl" in stock["reason"]
