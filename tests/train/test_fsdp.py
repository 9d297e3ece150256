"""FSDP2 exercised, not assumed: every family's tiny model sharded with its own wrap classes over two CPU
processes (gloo) trains a step with LoRA and with full fine-tuning, rank 0 holding an image and rank 1
text only (the keep-alive row keeps the vision tower's collectives in step), and its gathered full state
dict reloads into an unsharded model with equal logits. accelerate enables FSDP only on GPUs; torch's
`fully_shard` runs on the CPU, so this is the sharding code GPU runs use (vlmtrain.fsdp)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vlmtrain.families import NAMES

pytestmark = [pytest.mark.train]

WORKER = Path(__file__).with_name("fsdp_worker.py")


def torchrun(out: Path, dirs: list[Path], keep_vision: bool = True, timeout: int = 1200):
    env = {**os.environ, "KEEP_VISION": "1" if keep_vision else "0", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    cmd += [str(WORKER), str(out), *map(str, dirs)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def fsdp_results(tiny_model, tmp_path_factory):
    """{family name: [rank 0 result, rank 1 result]} from one two-process job over every family."""
    dirs = {name: tiny_model(name) for name in NAMES}
    out = tmp_path_factory.mktemp("fsdp") / "results.json"
    proc = torchrun(out, list(dirs.values()))
    assert proc.returncode == 0, proc.stderr[-4000:]
    ranks = json.loads(out.read_text())["ranks"]
    return {name: [r[str(d)] for r in ranks] for name, d in dirs.items()}


@pytest.mark.slow
@pytest.mark.parametrize("method", ["lora", "full"])
@pytest.mark.parametrize("name", NAMES)
def test_fsdp2_step_and_reload(fsdp_results, name, method):
    rank0, rank1 = (r[method] for r in fsdp_results[name])
    assert "error" not in rank0, rank0["error"]
    assert "error" not in rank1, rank1["error"]
    # the text-only batch got the keep-alive row (a family without text-only rows: both ranks have images)
    assert rank0["rows"] == 1 and rank1["rows"] == (2 if rank1["mixed"] else 1)
    assert rank0["missing"] == [] and rank0["unexpected"] == []
    assert rank0["reload_max_abs_diff"] <= 1e-6
    assert rank0["step_changed_logits"] > 0  # the step trained something, so the reload check means it
    full = fsdp_results[name][0]["full"]["trainable"]
    assert (rank0["trainable"] < full) if method == "lora" else rank0["trainable"] == full


@pytest.mark.slow
def test_mixed_image_and_text_ranks_fail_without_the_keep_alive_row(tiny_model, tmp_path):
    """The hang the keep-alive row prevents: without it the ranks' collectives differ (gloo aborts where
    NCCL would hang), so the job fails instead of finishing."""
    proc = torchrun(tmp_path / "r.json", [tiny_model(NAMES[0])], keep_vision=False, timeout=600)
    assert proc.returncode != 0
    assert not (tmp_path / "r.json").exists()


def long_text_record() -> dict:
    from fsdp_worker import record

    rec = record("long-text", with_image=False)
    rec["messages"][0]["content"][0]["text"] = "Describe the weather in the picture, please. " * 6
    return rec


@pytest.mark.parametrize("name", NAMES)
def test_keep_alive_row_leaves_the_loss_alone(tiny_loaded, name):
    """A text-only batch with keep_vision gets one more row, label-free, holding an image: the loss (mean
    over labelled tokens) is the text-only batch's own, and the batch's longest row may be the text one."""
    import torch

    from vlmtrain.collator import VLMCollator
    from vlmtrain.errors import VlmTrainError

    fam, processor, model = tiny_loaded(name)
    records = [long_text_record()]
    if not fam.supports_text_only:  # PaliGemma: no text-only batch can exist, so there is nothing to keep
        with pytest.raises(VlmTrainError, match="needs at least one image"):
            VLMCollator(processor, fam, keep_vision=True)(records)
        return
    plain = VLMCollator(processor, fam)(records)
    kept = VLMCollator(processor, fam, keep_vision=True)(records)
    assert kept["input_ids"].shape[0] == 2 and plain["input_ids"].shape[0] == 1
    assert bool((kept["labels"][1] == -100).all())
    model.eval()
    with torch.no_grad():
        a, b = model(**plain).loss, model(**kept).loss
    assert torch.isfinite(a) and abs(float(a) - float(b)) <= 1e-5 * abs(float(a))
