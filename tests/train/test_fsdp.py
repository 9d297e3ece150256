"""FSDP2 exercised, not assumed: every family's tiny model sharded with its own wrap classes over two CPU
processes (gloo) trains a step with LoRA and with full fine-tuning, rank 0 holding an image and rank 1
text only (the keep-alive row keeps the vision tower's collectives in step), and its gathered full state
dict reloads into an unsharded model with equal logits. accelerate enables FSDP only on GPUs; torch's
`fully_shard` runs on the CPU, so this is the sharding code GPU runs use (vlmtrain.fsdp)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vlmtrain.families import NAMES

pytestmark = [pytest.mark.train]

WORKER = Path(__file__).with_name("fsdp_worker.py")
KEEP_ALIVE_OFF = f"{NAMES[0]}-no-keep-alive"  # the job that must fail


def run_jobs(jobs: list[dict], out: Path, timeout: int = 3600) -> subprocess.CompletedProcess:
    """Run the worker over `jobs` (one fresh pair of gloo processes each); OUT/<id>/ holds each job's
    status.json, rank<r>.json and rank<r>.log."""
    (out / "jobs.json").write_text(json.dumps(jobs), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(WORKER), str(out / "jobs.json"), str(out)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:  # the worker and the ranks it forked: a session of their own
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        stderr += f"\n(killed after {timeout} s)"
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def fsdp_jobs(tiny_model, tmp_path_factory):
    """Every family as its own two-process job (LoRA, then full), plus the keep-alive-off job: the
    folder of their outputs, and the worker process (its stderr shows if it died before a job ran)."""
    dirs = {name: tiny_model(name) for name in NAMES}
    jobs = [{"id": name, "model": str(d), "methods": ["lora", "full"]} for name, d in dirs.items()]
    jobs.append(
        {"id": KEEP_ALIVE_OFF, "model": str(dirs[NAMES[0]]), "methods": ["lora"], "keep_vision": False}
    )
    out = tmp_path_factory.mktemp("fsdp")
    return out, run_jobs(jobs, out)


def tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-chars:] if path.exists() else "(no output)"


def job_status(fsdp_jobs, job_id: str) -> tuple[Path, dict]:
    out, proc = fsdp_jobs
    folder = out / job_id
    if not (folder / "status.json").exists():
        pytest.fail(
            f"FSDP job {job_id} never ran: the worker exited {proc.returncode}\n{proc.stderr[-4000:]}"
        )
    return folder, json.loads((folder / "status.json").read_text())


def job_result(fsdp_jobs, job_id: str) -> list[dict]:
    """[rank 0 result, rank 1 result] of a job that finished; else fails naming the job (the family)
    with both ranks' exit status and the tail of their output."""
    folder, status = job_status(fsdp_jobs, job_id)
    if status["exit"] != [0, 0] or not all((folder / f"rank{r}.json").exists() for r in (0, 1)):

        def rank_output(r: int) -> str:
            killed = (
                ", killed by the worker: its peer failed or time ran out" if r in status["killed"] else ""
            )
            return f"--- rank {r} (exit {status['exit'][r]}{killed}):\n{tail(folder / f'rank{r}.log')}"

        logs = "\n".join(rank_output(r) for r in (0, 1))
        pytest.fail(f"FSDP job {job_id} failed: {status}\n{logs}", pytrace=False)
    return [json.loads((folder / f"rank{r}.json").read_text()) for r in (0, 1)]


@pytest.fixture
def fsdp_results(fsdp_jobs, name):
    """[rank 0 result, rank 1 result] of this family's job, each {method: result} (an error here names
    the family)."""
    return job_result(fsdp_jobs, name)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["lora", "full"])
@pytest.mark.parametrize("name", NAMES)
def test_fsdp2_step_and_reload(fsdp_results, name, method):
    rank0, rank1 = (r[method] for r in fsdp_results)
    assert "error" not in rank0, rank0["error"]
    assert "error" not in rank1, rank1["error"]
    # the text-only batch got the keep-alive row (a family without text-only rows: both ranks have images)
    assert rank0["rows"] == 1 and rank1["rows"] == (2 if rank1["mixed"] else 1)
    assert rank0["missing"] == [] and rank0["unexpected"] == []
    assert rank0["reload_max_abs_diff"] <= 1e-6
    assert rank0["step_changed_logits"] > 0  # the step trained something, so the reload check means it
    full = fsdp_results[0]["full"]["trainable"]
    assert (rank0["trainable"] < full) if method == "lora" else rank0["trainable"] == full


@pytest.mark.slow
def test_mixed_image_and_text_ranks_fail_without_the_keep_alive_row(fsdp_jobs):
    """The hang the keep-alive row prevents: without it the ranks' collectives differ (gloo aborts where
    NCCL would hang), so the job fails instead of finishing."""
    folder, status = job_status(fsdp_jobs, KEEP_ALIVE_OFF)
    assert status["exit"] != [0, 0] and not status["timed_out"], status
    assert not (folder / "rank0.json").exists()


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
