"""What a newcomer meets in the first hour, each through the CLI with its exact message: `check --verify`
says what it verified, a run where nothing fits says so without naming a file it never wrote, files and
folders written through temporary names honour the umask, loss.png shows raw and smoothed loss with epochs."""

from __future__ import annotations

import json
import os
import stat
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from post_helpers import train_lora
from run_helpers import FAST, record, write_config, write_shards

from vlmtrain.callbacks import epoch_starts, loss_figure, smooth
from vlmtrain.cli import cli


@pytest.fixture(scope="module")
def model_dir(tiny_model):
    return tiny_model("qwen2_vl")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_shards(tmp_path_factory.mktemp("data"), {"train": [record(i) for i in range(3)]})


def config(tmp_path, model_dir, data, **keys):
    return str(
        write_config(
            tmp_path / "c.yaml",
            model_name_or_path=str(model_dir),
            data_dir=str(data),
            output_dir=str(tmp_path / "out"),
            **{**FAST, **keys},
        )
    )


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_check_verify_reports_what_it_verified(tmp_path, model_dir, data):
    cfg = config(tmp_path, model_dir, data)
    result = CliRunner().invoke(cli, ["check", cfg, "--verify", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.endswith(
        "ok: every sample fits and every image keeps its tokens\n"
        "verify: the real processor gives the same token count as the qwen2_vl rule for each of the first 2 "
        "sample(s)\n"
    )
    result = CliRunner().invoke(cli, ["check", cfg, "--verify", "10", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["verify"] == {
        "asked": 10,
        "verified": 3,
        "mismatches": 0,
        "message": "verify: the real processor gives the same token count as the qwen2_vl rule for each of "
        "the first 3 sample(s)",
    }
    result = CliRunner().invoke(cli, ["check", cfg])
    assert "verify:" not in result.output  # nothing said when nothing was asked


@pytest.mark.slow
def test_run_where_no_record_fits_names_no_file(tmp_path, model_dir, data):
    cfg = config(tmp_path, model_dir, data, max_length=8)
    checked = CliRunner().invoke(cli, ["check", cfg, "--json"])
    shortest = json.loads(checked.output)["report"]["lengths"]["min"]
    result = CliRunner().invoke(cli, ["run", cfg])
    assert result.exit_code == 1
    assert "dropped_overlength.jsonl" not in result.output  # the run never starts: no file to point at
    assert result.output[result.output.index("Error: ") :] == (
        f"Error: no train record fits in max_length 8: all 3 are longer (image tokens included; the shortest "
        f"has {shortest} tokens); nothing was trained\nfix: raise max_length to at least {shortest}, or lower "
        "max_pixels\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("mask, file_mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_html_labels_view_honours_the_umask(tmp_path, model_dir, data, mask, file_mode):
    cfg = config(tmp_path, model_dir, data)
    page = tmp_path / "labels.html"
    with umask(mask):
        result = CliRunner().invoke(cli, ["check", cfg, "--show-labels", "1", "--html", str(page)])
    assert result.exit_code == 0, result.output
    assert f"labels view written to {page}" in result.output
    assert mode(page) == file_mode


@pytest.mark.slow
@pytest.mark.parametrize("mask, dir_mode", [(0o022, 0o755), (0o002, 0o775)])
def test_merged_model_and_tiny_model_folders_honour_the_umask(tmp_path, model_dir, mask, dir_mode):
    adapter = train_lora(model_dir, tmp_path / "adapter", steps=1)
    with umask(mask):
        result = CliRunner().invoke(
            cli,
            [
                "merge",
                "--model",
                str(model_dir),
                "--adapter",
                str(adapter),
                "--out",
                str(tmp_path / "merged"),
            ],
        )
        assert result.exit_code == 0, result.output
        made = CliRunner().invoke(cli, ["make-tiny-model", "qwen2_vl", "--out", str(tmp_path / "tiny")])
        assert made.exit_code == 0, made.output
    assert mode(tmp_path / "merged") == dir_mode
    assert mode(tmp_path / "tiny") == dir_mode
    assert mode(tmp_path / "merged" / "config.json") == dir_mode & 0o666


def test_loss_plot_raw_points_smoothed_curve_epochs_and_eval():
    # Five records at batch size 4: a 4-row and a 1-row batch alternate, two steps per epoch.
    rows = [{"step": s, "epoch": s / 2, "loss": 5.0 - 0.1 * s + (0.4 if s % 2 else 0.0)} for s in range(1, 9)]
    rows.append({"step": 8, "epoch": 4.0, "eval_loss": 4.2})
    fig = loss_figure(rows)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
    assert set(lines) == {"train loss (logged)", "train loss (EMA 0.8)", "eval loss"}
    raw, smoothed = lines["train loss (logged)"], lines["train loss (EMA 0.8)"]
    assert raw.get_alpha() == 0.25 and raw.get_linestyle() == "None"  # faint points, no line
    assert list(smoothed.get_ydata()) == pytest.approx(smooth([r["loss"] for r in rows[:8]]))
    assert list(lines["eval loss"].get_xdata()) == [8]
    epoch_lines = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert [line.get_xdata()[0] for line in epoch_lines] == [2, 4, 6, 8]
    top = ax.child_axes[0]
    assert [t.get_text() for t in top.get_xticklabels()] == ["1", "2", "3", "4"]
    assert loss_figure([]) is None


def test_smoothing_and_epoch_marks():
    assert smooth([4.0, 2.0]) == pytest.approx([4.0, 2.0 + 2.0 * 0.8 / 1.8])
    assert smooth([3.0] * 5) == pytest.approx([3.0] * 5)  # debiased: a flat loss stays flat
    rows = [{"step": 1, "epoch": 0.4}, {"step": 3, "epoch": 1.2}, {"step": 5, "epoch": 3.0}]
    assert epoch_starts(rows) == [(1, 3), (2, 5), (3, 5)]


def test_check_grouped_padding_never_above_random(tmp_path, model_dir):
    """Two small images and a large one at batch size 2 (the quick start's sawtooth in miniature): the long
    record gets the short batch to itself, so length grouping pads nothing."""
    rows = [record(i, size=size, caption="a ninja") for i, size in enumerate((28, 28, 56))]
    data = write_shards(tmp_path / "d", {"train": rows})
    cfg = config(tmp_path, model_dir, data, per_device_train_batch_size=2)
    result = CliRunner().invoke(cli, ["check", cfg, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["report"]
    lengths = report["lengths"]
    assert lengths["min"] == lengths["p50"] < lengths["max"]
    assert report["padding"]["length_grouped"]["pad_tokens"] == 0
    assert report["padding"]["random"]["pad_tokens"] >= 0
    text = CliRunner().invoke(cli, ["check", cfg]).output
    assert "length-grouped 0.0%" in text
