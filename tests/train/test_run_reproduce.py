"""Runs that reproduce and survive a kill: `configs/tiny-cpu.yaml` as the quick start runs it, in real
`vlmtrain` processes (one seed, one machine: bit-identical logs), SIGKILLed during training and during a
checkpoint save, then resumed; what the user sees on stderr; output folders that are never overwritten
by surprise."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from run_helpers import FAST, record, write_config, write_shards

from vlmtrain.cli import cli

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
KILL = Path(__file__).with_name("kill_run.py")
# 8 steps of the quick-start config (5 records, batches of 4 and 1), a checkpoint every 2 steps.
STEPS = ["max_steps=8", "save_strategy=steps", "save_steps=2", "report_to=[]"]


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory, tiny_model):
    """A folder laid out as the README's quick start leaves it: models/tiny-qwen2vl, data/naruto (five
    captioned images of different sizes), configs/tiny-cpu.yaml."""
    root = tmp_path_factory.mktemp("quickstart")
    (root / "models").mkdir()
    (root / "models" / "tiny-qwen2vl").symlink_to(tiny_model("qwen2_vl"))
    write_shards(root / "data" / "naruto", {"train": [record(i, size=28 + 8 * i) for i in range(5)]})
    (root / "configs").mkdir()
    (root / "configs" / "tiny-cpu.yaml").write_text((REPO / "configs" / "tiny-cpu.yaml").read_text())
    return root


def vlmtrain(root: Path, *args: str, kill: tuple[str, int] | None = None) -> subprocess.CompletedProcess:
    """`vlmtrain ARGS` in a fresh process (optionally SIGKILLed: see kill_run.py)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "vlmtrain", *args]
    if kill is not None:
        cmd = [sys.executable, str(KILL), kill[0], str(kill[1]), *args]
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)


def logged(out: Path) -> list[tuple[int, float, float]]:
    rows = [json.loads(line) for line in (out / "trainer_log.jsonl").read_text().splitlines()]
    return [(r["step"], r["loss"], r["grad_norm"]) for r in rows if "loss" in r]


@pytest.fixture(scope="module")
def uninterrupted(quickstart):
    """The reference run, with its stderr: [(step, loss, grad_norm)] * 8."""
    done = vlmtrain(quickstart, "run", "configs/tiny-cpu.yaml", *STEPS, "output_dir=runs/a")
    assert done.returncode == 0, done.stderr
    return logged(quickstart / "runs" / "a"), done.stderr


def test_same_config_and_seed_give_identical_runs(quickstart, uninterrupted):
    reference, _ = uninterrupted
    again = vlmtrain(quickstart, "run", "configs/tiny-cpu.yaml", *STEPS, "output_dir=runs/b")
    assert again.returncode == 0, again.stderr
    assert [s for s, _, _ in reference] == list(range(1, 9))
    assert logged(quickstart / "runs" / "b") == reference  # every loss and grad norm, exactly


@pytest.mark.parametrize(
    "where, step, complete", [("save", 4, ["checkpoint-2"]), ("train", 5, ["checkpoint-2", "checkpoint-4"])]
)
def test_killed_run_resumes_to_the_uninterrupted_losses(quickstart, uninterrupted, where, step, complete):
    out = quickstart / "runs" / f"killed-{where}"
    killed = vlmtrain(
        quickstart, "run", "configs/tiny-cpu.yaml", *STEPS, f"output_dir={out}", kill=(where, step)
    )
    assert killed.returncode == -9, killed.stderr
    # Only complete checkpoints carry the checkpoint-N name; a killed save stays under .incomplete/.
    assert sorted(p.name for p in out.glob("checkpoint-*")) == complete
    assert all((p / "trainer_state.json").is_file() for p in out.glob("checkpoint-*"))
    assert (out / ".incomplete" / "checkpoint-4").is_dir() == (where == "save")

    resumed = vlmtrain(
        quickstart, "run", "configs/tiny-cpu.yaml", *STEPS, f"output_dir={out}", "resume_from_checkpoint=true"
    )
    assert resumed.returncode == 0, resumed.stderr
    assert logged(out) == uninterrupted[0]
    assert not (out / ".incomplete").exists()
    assert sorted(p.name for p in out.glob("checkpoint-*")) == [f"checkpoint-{n}" for n in (2, 4, 6, 8)]


def test_no_library_noise_and_one_progress_bar(quickstart, uninterrupted):
    """stderr of `vlmtrain check` and `vlmtrain run`: no bitsandbytes, no FutureWarning, no progress bars
    but the training bar, and no log dicts printed between its redraws."""
    checked = vlmtrain(quickstart, "check", "configs/tiny-cpu.yaml")
    assert checked.returncode == 0, checked.stderr
    _, run_stderr = uninterrupted
    for stderr in (checked.stderr, run_stderr):
        assert "bitsandbytes" not in stderr and "kernels-community" not in stderr
        assert "Warning" not in stderr, stderr
        assert "{'loss'" not in stderr and "'grad_norm'" not in stderr
    assert checked.stderr == ""
    frames = [f for f in re.split(r"[\r\n]", run_stderr) if "%|" in f]
    assert frames and all(f.startswith("train: ") for f in frames), frames
    assert re.search(r"train: 100%\|█+\| 8/8 \[.*loss=[\d.]+, lr=0\.005, tok/s=[\d,]+\]", run_stderr)
    lines = [line for line in run_stderr.split("\n") if line and "%|" not in line]
    assert len(lines) == 1 and re.fullmatch(
        r"vlmtrain: qwen2_vl, method lora, fp32: [\d,]+ of [\d,]+ .*", lines[0]
    )


def run_in(tmp_path, model_dir, data, *overrides, **keys):
    config = write_config(
        tmp_path / "run.yaml",
        model_name_or_path=str(model_dir),
        data_dir=str(data),
        output_dir=str(tmp_path / "out"),
        **{**FAST, **keys},
    )
    return CliRunner().invoke(cli, ["run", str(config), *overrides])


@pytest.fixture(scope="module")
def two_records(tmp_path_factory):
    return write_shards(tmp_path_factory.mktemp("two"), {"train": [record(0), record(1)]})


def test_resume_skips_an_incomplete_checkpoint_an_older_run_left(tmp_path, tiny_model, two_records):
    model = tiny_model("qwen2_vl")
    result = run_in(tmp_path, model, two_records, save_strategy="steps", save_steps=2, max_steps=4)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    (out / "checkpoint-4" / "trainer_state.json").unlink()  # what a kill during a save used to leave
    result = run_in(tmp_path, model, two_records, "resume_from_checkpoint=true", max_steps=4)
    assert result.exit_code == 0, result.output
    assert (
        f"vlmtrain: skipping {out / 'checkpoint-4'}: incomplete (no trainer_state.json; its save was interrupted)\n"
        in result.output
    )
    assert [json.loads(line)["step"] for line in (out / "trainer_log.jsonl").read_text().splitlines()][
        :4
    ] == [
        1,
        2,
        3,
        4,
    ]
    result = run_in(
        tmp_path, model, two_records, f"resume_from_checkpoint={out / 'checkpoint-4'}", max_steps=4
    )
    assert result.exit_code == 1
    assert result.output.endswith(
        f"Error: resume_from_checkpoint: {out / 'checkpoint-4'} is incomplete (no trainer_state.json; its save "
        "was interrupted); point at an earlier checkpoint or use resume_from_checkpoint: true for the newest "
        "complete one\n"
    )


def test_run_refuses_a_non_empty_output_dir(tmp_path, tiny_model, two_records):
    model = tiny_model("qwen2_vl")
    out = tmp_path / "out"
    result = run_in(tmp_path, model, two_records, "report_to=[tensorboard]", max_steps=1)
    assert result.exit_code == 0, result.output
    before = sorted(p.name for p in out.iterdir())
    result = run_in(tmp_path, model, two_records, max_steps=1)
    assert result.exit_code == 2
    assert result.output == (
        f"Error: {tmp_path / 'run.yaml'}: 1 problem(s):\n"
        f"  - output_dir: {out} is not empty (it holds {', '.join(before[:4])}, ... ({len(before)} entries)); "
        "set overwrite_output_dir: true to replace that run, resume_from_checkpoint: true to continue it, or "
        "choose another output_dir\n"
    )
    assert sorted(p.name for p in out.iterdir()) == before  # untouched
    # overwrite_output_dir: the earlier run's files go, so TensorBoard event folders do not pile up.
    result = run_in(
        tmp_path, model, two_records, "overwrite_output_dir=true", "report_to=[tensorboard]", max_steps=1
    )
    assert result.exit_code == 0, result.output
    assert len(list((out / "runs").iterdir())) == 1
    # A folder vlmtrain did not write is never deleted, even with overwrite_output_dir.
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep")
    result = run_in(tmp_path, model, two_records, f"output_dir={other}", "overwrite_output_dir=true")
    assert result.exit_code == 2
    assert (
        f"  - output_dir: {other} is not empty and has no vlmtrain_config.yaml, so it is not a vlmtrain run's "
        "folder; overwrite_output_dir: true replaces only those: choose another output_dir\n" in result.output
    )
    assert (other / "mine.txt").read_text() == "keep"
