"""Every registered family trains through `vlmtrain run` on the bundled naruto sample (the quick start's
data: `vlmdata download naruto` from the offline mirror, five captioned images) with falling loss.

One batch holds all five records, so every step sees the same samples and a working run must lower the
loss: LoRA on the family's tiny model, 6 steps.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from run_helpers import FAST, write_config

from download_helpers import run as download
from vlmtrain.cli import cli
from vlmtrain.families import NAMES

pytestmark = [pytest.mark.train, pytest.mark.slow]


@pytest.fixture(scope="module")
def naruto(tmp_path_factory):
    root = tmp_path_factory.mktemp("naruto")
    download(["naruto", "--out", str(root / "naruto")], str(root / "cache"), env={"HF_HUB_OFFLINE": "1"})
    return root / "naruto"


@pytest.mark.parametrize("name", NAMES)
def test_every_family_run_on_the_naruto_sample_lowers_the_loss(tmp_path, tiny_model, naruto, name):
    out = tmp_path / "out"
    config = write_config(
        tmp_path / "run.yaml",
        model_name_or_path=str(tiny_model(name)),
        data_dir=str(naruto),
        output_dir=str(out),
        method="lora",
        max_pixels=65536,
        max_steps=6,
        **{**FAST, "per_device_train_batch_size": 5},
    )
    result = CliRunner().invoke(cli, ["run", str(config)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "trainer_log.jsonl").read_text().splitlines()]
    loss = [r["loss"] for r in rows if "loss" in r]
    assert len(loss) == 6 and loss[-1] < loss[0], loss
