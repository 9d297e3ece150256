"""vlmdata messages a newcomer met in the first hour: `vlmdata info ... | head -1` ends quietly, and
`download --format sharegpt` names the LLaMA-Factory dataset after the --out folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from download_helpers import run

REPO = Path(__file__).resolve().parents[1]


def test_sharegpt_download_names_the_dataset_after_out(tmp_path):
    out = tmp_path / "naruto-lf"
    run(
        ["naruto", "--format", "sharegpt", "--out", str(out)],
        str(tmp_path / "cache"),
        env={"HF_HUB_OFFLINE": "1"},
    )
    info = json.loads((out / "dataset_info.json").read_text())
    assert list(info) == ["naruto_lf"]  # was ".converted", the temporary folder's name
    assert info["naruto_lf"]["file_name"] == "train.json"
    assert not (out / ".converted").exists()


@pytest.mark.parametrize("reader", ["head -1", "true"])
def test_info_into_a_reader_that_stops_early(tmp_path, reader):
    """`| head -1` reads one line and closes the pipe; `| true` never reads: no "Error: Broken pipe",
    exit 0 (checked with pipefail, three times: the close races the writes)."""
    data = tmp_path / "naruto"
    run(["naruto", "--out", str(data)], str(tmp_path / "cache"), env={"HF_HUB_OFFLINE": "1"})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    for _ in range(3):
        done = subprocess.run(
            ["bash", "-c", f"set -o pipefail; {sys.executable} -m vlmdata info {data} | {reader}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (done.returncode, done.stderr) == (0, "")
        if reader == "head -1":
            assert done.stdout == f"{data}: 5 records (train: 5), 5 images, 0.0 MB of image data\n"
