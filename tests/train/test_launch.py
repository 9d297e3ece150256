"""`vlmtrain run --nproc N`: the torchrun command it builds, FSDP wrap classes, and a real 2-process CPU run."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner
from run_helpers import FAST, record, write_config, write_shards

from vlmtrain.cli import cli
from vlmtrain.errors import VlmTrainError
from vlmtrain.fsdp import fill_fsdp_config
from vlmtrain.launch import Launch, torchrun_command


def test_single_node_command_is_standalone():
    assert torchrun_command("c.yaml", ["max_steps=5"], Launch(nproc=4)) == [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "4", "--standalone",
        "-m", "vlmtrain", "run", "c.yaml", "max_steps=5",
    ]  # fmt: skip


def test_multi_node_flags_pass_through():
    launch = Launch(nproc=8, nnodes="2", node_rank=1, master_addr="10.0.0.1", master_port=29500)
    assert launch.distributed
    assert torchrun_command("c.yaml", [], launch) == [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "8",
        "--nnodes", "2", "--node_rank", "1", "--master_addr", "10.0.0.1", "--master_port", "29500",
        "-m", "vlmtrain", "run", "c.yaml",
    ]  # fmt: skip
    assert not Launch(nproc=1).distributed


def test_fsdp_config_gets_family_wrap_classes():
    from vlmtrain.families import resolve_family

    family = resolve_family("mllama")
    classes = family.fsdp_wrap_classes  # what family.wrap_classes(model) gives for a model holding them all
    cfg = {"fsdp": "full_shard auto_wrap"}
    fill_fsdp_config(cfg, classes)
    assert cfg == {
        "fsdp": "full_shard auto_wrap",
        "activation_checkpointing": False,  # FSDP checkpoints the wrapped layers itself
        "fsdp_config": {
            "transformer_layer_cls_to_wrap": list(family.fsdp_wrap_classes),
            "version": 2,  # FSDP2 by default
            "activation_checkpointing": True,
        },
    }
    mine = {
        "fsdp": "full_shard",
        "gradient_checkpointing": True,
        "fsdp_config": {"transformer_layer_cls_to_wrap": ["X"], "min_num_params": 0},
    }
    fill_fsdp_config(mine, classes)
    assert mine["fsdp_config"] == {"transformer_layer_cls_to_wrap": ["X"], "min_num_params": 0, "version": 2}
    assert fill_fsdp_config(old := {"fsdp": "full_shard", "fsdp_config": {"version": 1}}, classes) is None
    assert old["fsdp_config"]["version"] == 1  # the user's choice stays
    plain = {"fsdp_config": None}
    fill_fsdp_config(plain, classes)
    assert plain == {"fsdp_config": None}
    with pytest.raises(VlmTrainError, match="fsdp: none of the family's layer classes is in this model"):
        fill_fsdp_config({"fsdp": "full_shard"}, ())


def test_fsdp_needs_several_processes(tmp_path, tiny_model):
    data = write_shards(tmp_path / "data", {"train": [record(0)]})
    config = write_config(
        tmp_path / "c.yaml",
        model_name_or_path=str(tiny_model("qwen2_vl")),
        data_dir=str(data),
        fsdp="full_shard",
    )
    result = CliRunner().invoke(cli, ["run", str(config)])
    assert result.exit_code == 2
    assert result.output == (
        f"Error: {config}: 1 problem(s):\n  - fsdp: sharding needs several processes; run with --nproc N (N >= 2)\n"
    )


def test_launcher_reports_config_errors_before_torchrun(tmp_path):
    config = write_config(tmp_path / "c.yaml", data_dir=str(tmp_path))
    result = CliRunner().invoke(cli, ["run", str(config), "--nproc", "2"])
    assert result.exit_code == 2
    assert "model_name_or_path: required key missing" in result.output
    assert "torch.distributed.run" not in result.output


@pytest.mark.slow
def test_nproc_2_on_cpu(tmp_path, tiny_model):
    """Two gloo processes share the data: 4 records, batch 1 per process -> half an epoch per step
    (one process alone would log epoch 0.25). Only rank 0 writes the log. (FSDP cannot be tested here:
    accelerate enables it only on GPUs and silently runs DDP on CPU; `vlmtrain run` warns about that.)"""
    data = write_shards(tmp_path / "data", {"train": [record(i) for i in range(4)]})
    keys = {**FAST, "per_device_train_batch_size": 1, "max_steps": 2}
    config = write_config(
        tmp_path / "c.yaml",
        model_name_or_path=str(tiny_model("qwen2_vl")),
        data_dir=str(data),
        output_dir=str(tmp_path / "out"),
        method="lora",
        **keys,
    )
    result = CliRunner().invoke(cli, ["run", str(config), "--nproc", "2"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out" / "trainer_log.jsonl").read_text().splitlines()]
    assert [(r["step"], r["epoch"]) for r in rows if "loss" in r] == [(1, 0.5), (2, 1.0)]
    assert (tmp_path / "out" / "adapter_model.safetensors").is_file()


@pytest.mark.parametrize(
    "name",
    [
        "qwen2_vl",
        "qwen2_5_vl",
        "idefics3",
        "smolvlm",
        "llava",
        "llava_next",
        "mllama",
        "paligemma",
        "gemma3",
        "gemma3n",
        "gemma4",
        "lfm2_vl",
    ],
)
def test_fsdp_wrap_classes_are_those_in_the_model(tiny_model, name):
    """FSDP's auto-wrap refuses a class name it cannot find: only the family's classes present in this
    model are filled in, found on the meta device (no weights read)."""
    from vlmtrain.families import resolve_family
    from vlmtrain.fsdp import meta_model

    model_dir = tiny_model(name)
    family = resolve_family(model_dir)
    cfg = {"fsdp": "full_shard"}
    fill_fsdp_config(cfg, family.wrap_classes(meta_model(family, model_dir)))
    wrap = cfg["fsdp_config"]["transformer_layer_cls_to_wrap"]
    real = {type(m).__name__ for m in family.load_model(model_dir).modules()}
    assert wrap and set(wrap) <= real
    # one decoder-layer class of the language model and one encoder-layer class of the vision tower
    assert len(wrap) >= 2, wrap
