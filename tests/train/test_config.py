"""`vlmtrain run` config checks: every problem listed at once, exact messages, before torch is imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from vlmtrain.cli import cli
from vlmtrain.config import check_semantics, load_config, parse_overrides, read_yaml, schema, validate_keys
from vlmtrain.errors import ConfigError
from vlmtrain.families import MODEL_TYPES

REPO = Path(__file__).resolve().parents[2]
KNOWN = ", ".join(sorted(MODEL_TYPES))


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder with a fake VLM (config.json only), a text-only model, and a data folder with a train shard."""
    (tmp_path / "vlm").mkdir()
    (tmp_path / "vlm" / "config.json").write_text(json.dumps({"model_type": "qwen2_vl", "vision_config": {}}))
    (tmp_path / "llm").mkdir()
    (tmp_path / "llm" / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train-00000-of-00001.parquet").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path.name)


def test_every_problem_listed_at_once(workdir):
    config = write(
        workdir / "bad.yaml",
        "model_name_or_path: llm\n"
        "data_dir: missing-folder\n"
        "method: lora2\n"
        "lerning_rate: 1e-4\n"
        "num_train_epochs: three\n"
        "lora_r: 0\n"
        "padding_free: true\n"
        "lr_scheduler_type: cosin\n",
    )
    result = CliRunner().invoke(cli, ["run", config, "bogus"])
    assert result.exit_code == 2
    assert result.output == (
        "Error: bad.yaml: 9 problem(s):\n"
        "  - override 'bogus': expected KEY=VALUE (e.g. learning_rate=1e-4)\n"
        "  - unknown key 'lerning_rate' (did you mean 'learning_rate'?)\n"
        "  - key 'padding_free' is set by vlmtrain: use packing: true (vlmtrain's padding-free rows of whole "
        "samples)\n"
        "  - num_train_epochs: expected number, found string 'three'\n"
        "  - lr_scheduler_type: expected one of linear|cosine|cosine_with_restarts|polynomial|constant|"
        "constant_with_warmup|inverse_sqrt|reduce_lr_on_plateau|cosine_with_min_lr|cosine_warmup_with_min_lr|"
        "warmup_stable_decay|greedy, found 'cosin' (did you mean 'cosine'?)\n"
        "  - method: expected one of full|lora|qlora|freeze, found 'lora2' (did you mean 'lora'?)\n"
        "  - lora_r: expected a value >= 1, found 0\n"
        "  - data_dir: folder 'missing-folder' does not exist (make it with `vlmdata download`)\n"
        "  - model_name_or_path: llm/config.json: model_type 'llama' is a text-only model; supported "
        f"vision-language families: {KNOWN}\n"
    )


def test_method_family_and_split_problems(workdir):
    config = write(
        workdir / "c.yaml",
        "model_name_or_path: vlm\ndata_dir: data\nmethod: lora\nfreeze_projector: true\n"
        "eval_split: validation\nfamily: qwen2vl\n",
    )
    with pytest.raises(ConfigError) as err:
        load_config(config, ["trainable_lm_layers=2", "lora_alpha=x"])
    assert err.value.problems == [
        "lora_alpha: expected integer, found string 'x'",
        "freeze_projector: applies only to method freeze (method is 'lora')",
        "trainable_lm_layers: applies only to method freeze (method is 'lora')",
        "eval_split: no validation-*.parquet shards in 'data' (found: train-00000-of-00001.parquet)",
        f"family: unknown family 'qwen2vl' (did you mean 'qwen2_vl'?); known: {KNOWN}",
    ]


def test_family_must_match_model(workdir):
    config = write(workdir / "c.yaml", "model_name_or_path: vlm\ndata_dir: data\nfamily: qwen2_5_vl\n")
    with pytest.raises(ConfigError) as err:
        load_config(config)
    assert err.value.problems == ["family: 'qwen2_5_vl' does not match the model's family 'qwen2_vl'"]


def test_missing_required_and_model_not_found(workdir):
    config = write(workdir / "c.yaml", "model_name_or_path: no/such-model\nmethod: full\nlora_r: 8\n")
    with pytest.raises(ConfigError) as err:
        load_config(config)
    assert err.value.problems == [
        "data_dir: required key missing",
        "lora_r: applies only to methods lora and qlora (method is 'full')",
        f"model_name_or_path: 'no/such-model' is not a local folder (no {workdir / 'no' / 'such-model'}) and "
        "not a Hub model in the local cache; for a Hub model, download it first: hf download no/such-model",
    ]


@pytest.mark.parametrize(
    "model, problem",
    [
        # models/ exists here: a local path that is missing, not a Hub id to download
        (
            "models/tiny-qwen2vl",
            "folder 'models/tiny-qwen2vl' does not exist (looked for {cwd}/models/tiny-qwen2vl)",
        ),
        ("./tiny", "folder './tiny' does not exist (looked for {cwd}/tiny)"),
        ("runs/a/b", "folder 'runs/a/b' does not exist (looked for {cwd}/runs/a/b)"),
    ],
)
def test_missing_local_model_folder_is_not_sent_to_the_hub(workdir, model, problem):
    (workdir / "models").mkdir()
    config = write(workdir / "c.yaml", f"model_name_or_path: {model}\ndata_dir: data\n")
    result = CliRunner().invoke(cli, ["check", config])
    assert result.exit_code == 2
    assert (
        result.output
        == f"Error: c.yaml: 1 problem(s):\n  - model_name_or_path: {problem.format(cwd=workdir)}\n"
    )


def test_yaml_no_is_a_string_and_project_keys_suggested_first(workdir):
    """`save_strategy=no` as every HF user writes it (YAML 1.1 would read a boolean), in the file too;
    a misspelt vlmtrain key suggests the vlmtrain key, not an inherited TrainingArguments one."""
    config = write(workdir / "c.yaml", "model_name_or_path: vlm\ndata_dir: data\nsave_strategy: no\n")
    assert load_config(config)["save_strategy"] == "no"
    assert load_config(config, ["save_strategy=no", "logging_strategy=no"])["logging_strategy"] == "no"
    result = CliRunner().invoke(cli, ["run", config, "lora_rank=8", "bf16=yes", "save_strategy=no"])
    assert result.exit_code == 2
    assert result.output == (
        "Error: c.yaml: 2 problem(s):\n"
        "  - unknown key 'lora_rank' (did you mean 'lora_r'?)\n"
        "  - bf16: expected boolean or null, found string 'yes' (write true or false)\n"
    )


def test_lengths_and_batch_sizes_must_be_positive(workdir):
    """Checked with the config, not after the model has loaded (transformers' own error) or by dropping
    every record (max_length: -5)."""
    config = write(workdir / "c.yaml", "model_name_or_path: vlm\ndata_dir: data\nmax_length: null\n")
    assert load_config(config)["max_length"] is None
    overrides = ["max_length=-5", "per_device_train_batch_size=0", "gradient_accumulation_steps=0"]
    with pytest.raises(ConfigError) as err:
        load_config(config, overrides)
    assert sorted(err.value.problems) == [
        "gradient_accumulation_steps: expected a value >= 1, found 0",
        "max_length: expected a value >= 1, found -5",
        "per_device_train_batch_size: expected a value >= 1, found 0",
    ]


def test_data_dir_is_a_file_and_model_folder_without_config(workdir):
    (workdir / "train.jsonl").write_text("")
    config = write(workdir / "c.yaml", "model_name_or_path: data\ndata_dir: train.jsonl\n")
    with pytest.raises(ConfigError) as err:
        load_config(config)
    assert err.value.problems == [
        "data_dir: 'train.jsonl' is a file; point at a folder of Parquet shards "
        "(make one with `vlmdata convert train.jsonl --to parquet --out DIR`)",
        "model_name_or_path: folder 'data' has no config.json; point at the model folder itself",
    ]
    config = write(workdir / "c.yaml", f"model_name_or_path: {workdir / 'nope'}\ndata_dir: data\n")
    with pytest.raises(ConfigError) as err:
        load_config(config)
    assert err.value.problems == [
        f"model_name_or_path: folder '{workdir / 'nope'}' does not exist"
    ]  # absolute
    config = write(workdir / "c.yaml", "model_name_or_path: vlm/config.json\ndata_dir: data\n")
    with pytest.raises(ConfigError) as err:
        load_config(config)
    assert err.value.problems == [
        "model_name_or_path: 'vlm/config.json' is a file; point at the model folder"
    ]


def test_good_config_resolves_family_output_dir_and_yaml_floats(workdir):
    config = write(workdir / "tiny.yaml", "model_name_or_path: vlm\ndata_dir: data\nlearning_rate: 1e-4\n")
    cfg = load_config(config, ["method=freeze", "trainable_lm_layers=1", "fsdp_config.min_num_params=0"])
    assert cfg == {
        "model_name_or_path": "vlm",
        "data_dir": "data",
        "learning_rate": 0.0001,  # YAML 1.1 would read 1e-4 as a string
        "method": "freeze",
        "trainable_lm_layers": 1,
        "fsdp_config": {"min_num_params": 0},
        "family": "qwen2_vl",
        "output_dir": "runs/tiny",
    }


def test_one_problem_per_key():
    assert validate_keys(
        {"model_name_or_path": "m", "data_dir": "d", "method": 3, "lora_target_modules": [1]}
    ) == [
        "method: expected string, found integer 3",
        "lora_target_modules.0: expected string, found integer 1",
    ]


def test_parse_overrides():
    assert parse_overrides(["a=1", "b=[q_proj, v_proj]", "c.d=true", "e=", "f=x"]) == (
        {"a": 1, "b": ["q_proj", "v_proj"], "c": {"d": True}, "e": None, "f": "x"},
        [],
    )
    assert (
        parse_overrides(["=1", "g=[1"])[1][0] == "override '=1': expected KEY=VALUE (e.g. learning_rate=1e-4)"
    )
    assert parse_overrides(["g=[1"])[1][0].startswith("override 'g=[1': value is not valid YAML")


def test_conflicting_keys():
    assert check_semantics({"method": "freeze", "trainable_lm_layers": 1, "freeze_language_model": True}) == [
        "trainable_lm_layers: conflicts with freeze_language_model: true (choose one)"
    ]
    assert check_semantics({"method": "qlora", "fsdp": "full_shard", "bf16": True, "fp16": True}) == [
        "fsdp: QLoRA with FSDP is not supported by vlmtrain; use DDP (--nproc without fsdp)",
        "bf16, fp16: choose one precision",
    ]
    assert check_semantics({"eval_strategy": "steps"}) == [
        "eval_strategy: 'steps' needs eval_split (e.g. validation)"
    ]


def test_sftconfig_keys_are_config_keys():
    """The schema is generated from SFTConfig's fields: its keys, minus the ones vlmtrain manages; and
    every schema key is a field of VlmTrainConfig (a stale key would fail when the config is built)."""
    import dataclasses

    from trl import SFTConfig

    from vlmtrain.schema_gen import MANAGED
    from vlmtrain.training_args import VlmTrainConfig

    props = set(schema()["properties"])
    assert props <= {f.name for f in dataclasses.fields(VlmTrainConfig) if f.init}
    assert {"learning_rate", "num_train_epochs", "per_device_train_batch_size", "max_length"} <= props
    assert not set(MANAGED) & props
    if schema()["x-generated-from"]["trl"] == __import__("trl").__version__:
        sft = {f.name for f in dataclasses.fields(SFTConfig) if f.init and not f.name.startswith("_")}
        assert sft - set(MANAGED) <= props


def test_committed_schema_is_generated():
    """`python -m vlmtrain.schema_gen` reproduces the committed schema (under the trl it was made from)."""
    import transformers
    import trl

    from vlmtrain.schema_gen import build_schema

    made_from = schema()["x-generated-from"]
    if made_from != {"trl": trl.__version__, "transformers": transformers.__version__}:
        pytest.skip(f"schema made from {made_from}; regenerate with python -m vlmtrain.schema_gen")
    assert build_schema() == schema()


def test_example_configs_pass_the_schema():
    configs = sorted((REPO / "configs").glob("*.yaml"))
    assert len(configs) >= 5
    for path in configs:
        cfg = read_yaml(path)
        assert validate_keys(cfg) + check_semantics(cfg) == [], path.name
        # The header comment gives the exact command.
        assert f"vlmtrain run configs/{path.name}" in path.read_text().splitlines()[0], path.name


def test_config_errors_come_before_torch(workdir):
    """A bad config is reported by a process that never imported torch, transformers or trl."""
    write(workdir / "bad.yaml", "model_name_or_path: vlm\ndata_dir: data\nlerning_rate: 1\n")
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from vlmtrain.cli import cli\n"
        "r = CliRunner().invoke(cli, ['run', 'bad.yaml'])\n"
        "assert r.exit_code == 2, r.output\n"
        "assert \"unknown key 'lerning_rate'\" in r.output, r.output\n"
        "bad = [m for m in ('torch', 'transformers', 'trl', 'peft') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=workdir)


def test_method_the_family_cannot_do():
    from vlmtrain.config import check_family
    from vlmtrain.families import resolve_family

    family = resolve_family("llava").derive(name="toy", projector="")
    assert check_family({"method": "freeze", "freeze_projector": False}, family) == [
        "freeze_projector: family 'toy' has no separate projector to freeze or train"
    ]
    flash = {"method": "full", "attn_implementation": "flash_attention_2"}
    assert check_family(flash, resolve_family("mllama")) == [
        "attn_implementation: family 'mllama' has no flash_attention_2 path; use sdpa or eager"
    ]
    assert check_family(flash, resolve_family("qwen2_vl")) == []


def test_vlmtrainconfig_extends_sftconfig_with_forced_keys(tmp_path):
    from trl import SFTConfig

    from vlmtrain.config import VlmTrainConfig, to_training_args

    assert issubclass(VlmTrainConfig, SFTConfig)
    args = to_training_args(
        {
            "model_name_or_path": "m",
            "data_dir": "d",
            "output_dir": str(tmp_path),
            "use_cpu": True,
            "bf16": False,
        }
    )
    assert (args.remove_unused_columns, args.dataset_kwargs) == (False, {"skip_prepare_dataset": True})
    assert (args.activation_checkpointing, args.activation_checkpointing_kwargs) == (
        True,
        {"use_reentrant": False},
    )
    assert (args.method, args.on_overlength, args.train_on_prompt, args.report_to) == (
        "lora",
        "drop",
        False,
        ["tensorboard"],
    )
