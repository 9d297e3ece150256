"""`vlmtrain run` end to end on a tiny Qwen2-VL on CPU: what trains, what is written, resume, overlength."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from run_helpers import FAST, record, write_config, write_shards

from vlmtrain.cli import cli
from vlmtrain.families import NAMES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def model_dir(tiny_model):
    return tiny_model("qwen2_vl")


@pytest.fixture(scope="session")
def loaded(model_dir):
    from vlmtrain.families import resolve_family

    family = resolve_family(model_dir)
    return family, family.load_processor(model_dir)


@pytest.fixture(scope="session")
def repeated(tmp_path_factory):
    """Two records, batch size 2: every step sees the same batch."""
    return write_shards(tmp_path_factory.mktemp("repeated"), {"train": [record(0), record(1)]})


@pytest.fixture(scope="session")
def mixed(tmp_path_factory, loaded):
    """Four 32 px records and one 56 px record (more image tokens), plus a validation split.
    Returns (data_dir, max_length) where only the 56 px record, rec-009, is longer than max_length."""
    family, processor = loaded
    train = [record(i) for i in range(4)] + [record(9, size=56)]
    lengths = [family.encode(processor, [r])["input_ids"].shape[1] for r in train]
    max_length = lengths[-1] - 1
    assert max(lengths[:-1]) <= max_length
    data = write_shards(tmp_path_factory.mktemp("mixed"), {"train": train, "validation": [record(5)]})
    return data, max_length


def run(tmp_path, model_dir, data_dir, *overrides, **keys):
    out = tmp_path / "out"
    config = write_config(
        tmp_path / "run.yaml",
        model_name_or_path=str(model_dir),
        data_dir=str(data_dir),
        output_dir=str(out),
        **{**FAST, **keys},
    )
    result = CliRunner().invoke(cli, ["run", str(config), *overrides])
    return result, out


def losses(out: Path) -> list[float]:
    rows = [json.loads(line) for line in (out / "trainer_log.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


def changed_params(model_dir, out, family) -> set[str]:
    before = dict(family.load_model(model_dir).named_parameters())
    after = dict(family.load_model(out).named_parameters())
    assert before.keys() == after.keys()
    return {name for name, p in before.items() if not p.detach().equal(after[name].detach())}


def test_lora_trains_adapters_only_and_writes_outputs(tmp_path, model_dir, repeated, loaded):
    from safetensors.torch import load_file

    from vlmtrain.config import read_yaml, validate_keys

    result, out = run(
        tmp_path, model_dir, repeated, "report_to=[tensorboard]", "bf16=true", method="lora", max_steps=6
    )
    assert result.exit_code == 0, result.output
    assert "vlmtrain: warning: bf16 is not available on CPU; training in fp32" in result.output
    assert result.stdout.endswith(f"trained: {out}\n")
    loss = losses(out)
    assert len(loss) == 6 and loss[-1] < loss[0] - 0.1, loss
    adapter = load_file(out / "adapter_model.safetensors")
    assert adapter and all("language_model" in k and ".lora_" in k for k in adapter), sorted(adapter)[:4]
    assert all(t.abs().sum() > 0 for k, t in adapter.items() if "lora_B" in k)  # B starts at zero
    for name in ("adapter_config.json", "tokenizer.json", "chat_template.jinja", "loss.png"):
        assert (out / name).is_file(), name
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((out / "runs").rglob("events.out.tfevents.*"))
    resolved = read_yaml(out / "vlmtrain_config.yaml")
    assert validate_keys(resolved) == []
    assert (resolved["method"], resolved["bf16"], resolved["max_steps"]) == ("lora", False, 6)
    assert resolved["activation_checkpointing"] is True
    assert resolved["activation_checkpointing_kwargs"] == {"use_reentrant": False}
    # Reload: base + adapter, processor from the output folder; one forward gives a finite loss.
    from peft import PeftModel

    from vlmtrain.collator import VLMCollator

    family, _ = loaded
    processor = family.load_processor(out)
    model = PeftModel.from_pretrained(family.load_model(model_dir), out)
    batch = VLMCollator(processor, family)([record(0)])
    assert math.isfinite(model(**batch).loss.item())


def test_projector_only_freeze_changes_only_the_projector(tmp_path, model_dir, repeated, loaded):
    family, _ = loaded
    result, out = run(
        tmp_path,
        model_dir,
        repeated,
        method="freeze",
        freeze_vision_tower=True,
        freeze_projector=False,
        freeze_language_model=True,
        max_steps=2,
    )
    assert result.exit_code == 0, result.output
    changed = changed_params(model_dir, out, family)
    projector = {
        n for n, _ in family.load_model(model_dir).named_parameters() if n.startswith(family.projector + ".")
    }
    assert projector and changed == projector


def test_last_lm_layers_change_only(tmp_path, model_dir, repeated, loaded):
    family, _ = loaded
    result, out = run(
        tmp_path,
        model_dir,
        repeated,
        method="freeze",
        trainable_lm_layers=1,
        freeze_projector=True,
        max_steps=2,
    )
    assert result.exit_code == 0, result.output
    changed = changed_params(model_dir, out, family)
    last = f"{family.lm_layers}.1."  # the tiny model has 2 decoder layers: only the second trains
    in_last = {n for n, _ in family.load_model(model_dir).named_parameters() if n.startswith(last)}
    assert in_last and changed == in_last, sorted(changed ^ in_last)


def test_qlora_runs_on_cpu(tmp_path, model_dir, repeated):
    from safetensors.torch import load_file

    result, out = run(tmp_path, model_dir, repeated, method="qlora", lora_r=8, lora_alpha=16, max_steps=3)
    assert result.exit_code == 0, result.output
    assert all(math.isfinite(v) for v in losses(out))
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 8
    assert load_file(out / "adapter_model.safetensors")


def test_qlora_loads_language_model_in_4bit_nf4(model_dir, loaded):
    from types import SimpleNamespace

    from vlmtrain.methods import load_model

    family, _ = loaded
    args = SimpleNamespace(method="qlora", model_name_or_path=str(model_dir), attn_implementation=None)
    model = load_model(args, family, "fp32")
    q = model.config.quantization_config
    assert (q.load_in_4bit, q.bnb_4bit_quant_type, q.bnb_4bit_use_double_quant) == (True, "nf4", True)
    kinds = {
        (name.startswith(family.language_model + "."), type(mod).__name__)
        for name, mod in model.named_modules()
        if type(mod).__name__ in ("Linear", "Linear4bit")
    }
    # Language-model Linears are 4-bit; the vision tower, projector and head keep full weights.
    assert kinds == {(True, "Linear4bit"), (False, "Linear")}


def test_save_resume_and_refuse_resume_without_checkpoint(tmp_path, model_dir, repeated):
    result, out = run(tmp_path, model_dir, repeated, save_strategy="steps", save_steps=2, max_steps=4)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    first = losses(out)
    result, out = run(
        tmp_path,
        model_dir,
        repeated,
        "resume_from_checkpoint=true",
        save_strategy="steps",
        save_steps=2,
        max_steps=6,
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "trainer_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [1, 2, 3, 4, 5, 6]
    assert losses(out)[:4] == first  # the first run's lines are kept, not repeated
    assert (out / "checkpoint-6").is_dir()
    # An explicit checkpoint folder: the log is cut back to its step, then steps 5-6 run again.
    result, out = run(
        tmp_path,
        model_dir,
        repeated,
        f"resume_from_checkpoint={out / 'checkpoint-4'}",
        save_strategy="no",
        max_steps=6,
    )
    assert result.exit_code == 0, result.output
    assert losses(out)[:4] == first and len(losses(out)) == 6

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    result, _ = run(fresh, model_dir, repeated, "resume_from_checkpoint=true", max_steps=2)
    assert result.exit_code == 1
    assert result.output.endswith(
        f"Error: resume_from_checkpoint: true, but {fresh / 'out'} holds no complete checkpoint-N folder; "
        "remove the key to start afresh\n"
    )


def test_overlength_records_dropped_and_listed(tmp_path, model_dir, mixed):
    data, max_length = mixed
    result, out = run(
        tmp_path,
        model_dir,
        data,
        max_length=max_length,
        max_steps=2,
        eval_split="validation",
        eval_strategy="steps",
        eval_steps=2,
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "trainer_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "eval_loss" in r] == [2]
    report = out / "dropped_overlength.jsonl"
    assert (
        f"vlmtrain: dropped 1 of 5 train record(s) longer than max_length {max_length}; listed in {report}"
        in (result.output)
    )
    assert [json.loads(line) for line in report.read_text().splitlines()] == [
        {"split": "train", "index": 4, "id": "rec-009", "tokens": max_length + 1, "max_length": max_length}
    ]


def test_overlength_error_stops_before_training(tmp_path, model_dir, mixed):
    data, max_length = mixed
    result, out = run(tmp_path, model_dir, data, max_length=max_length, on_overlength="error")
    assert result.exit_code == 1
    # datasets may print "Generating train split" first (when this split is not cached yet)
    assert result.output[result.output.index("Error: ") :].startswith(
        f"Error: 1 of 5 train record(s) are longer than max_length {max_length} (image tokens included); "
        f"nothing was trained:\n  - record 4 id 'rec-009': {max_length + 1} tokens\n"
    )
    assert not out.exists()  # refused before training: no output folder left behind


FAMILY_NAMES = list(NAMES)  # family names (a family may register several model types)


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_every_family_projector_only_run(tmp_path, tiny_model, repeated, name):
    """One projector-only step per family: the run works and nothing outside the projector changes.
    (Tiny Mllama's cross-attention gates start at zero, so its projector gets no gradient yet.)"""
    from vlmtrain.families import resolve_family

    model_dir = tiny_model(name)
    family = resolve_family(model_dir)
    result, out = run(tmp_path, model_dir, repeated, method="freeze", freeze_language_model=True, max_steps=1)
    assert result.exit_code == 0, result.output
    changed = changed_params(model_dir, out, family)
    assert all(n.startswith(family.projector + ".") for n in changed), sorted(changed)
    assert changed or name == "mllama"


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_every_family_lora_wraps_language_model_only(tiny_model, name):
    from types import SimpleNamespace

    from vlmtrain.families import resolve_family
    from vlmtrain.methods import apply_method

    model_dir = tiny_model(name)
    family = resolve_family(model_dir)
    args = SimpleNamespace(
        method="lora", lora_r=4, lora_alpha=8, lora_dropout=0.0, lora_target_modules=["q_proj", "v_proj"]
    )
    model = apply_method(family.load_model(model_dir), args, family)
    wrapped = {n.removesuffix(".lora_A.default.weight") for n, _ in model.named_parameters() if "lora_A" in n}
    lm = "base_model.model." + family.language_model + "."
    assert wrapped and all(n.startswith(lm) and n.endswith(("q_proj", "v_proj")) for n in wrapped), sorted(
        wrapped
    )
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {n for n, _ in model.named_parameters() if ".lora_" in n}


def test_cap_image_keeps_aspect_and_small_images():
    from PIL import Image

    from vlmtrain.data import cap_image

    assert cap_image(Image.new("RGB", (100, 50)), 1250).size == (50, 25)
    small = Image.new("RGB", (20, 20))
    assert cap_image(small, 1250) is small
    assert cap_image(small, None) is small


def test_tiny_cpu_example_config_runs(tmp_path, model_dir, repeated, monkeypatch):
    """configs/tiny-cpu.yaml as the README runs it (models/tiny-qwen2vl, data/naruto), cut to 2 steps."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tiny-qwen2vl").symlink_to(model_dir)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "naruto").symlink_to(repeated)
    monkeypatch.chdir(tmp_path)
    config = Path(__file__).resolve().parents[2] / "configs" / "tiny-cpu.yaml"
    result = CliRunner().invoke(cli, ["run", str(config), "max_steps=2", "report_to=[]"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("trained: runs/tiny-cpu\n")
    assert (tmp_path / "runs" / "tiny-cpu" / "adapter_model.safetensors").is_file()


def test_run_refuses_records_the_collator_would_reject(tmp_path, model_dir):
    """The token check runs before the model loads and lists every record that would fail."""
    bad = record(7)
    bad["images"] = bad["images"] * 2  # two images, one image part
    no_answer = record(8)
    no_answer["messages"] = no_answer["messages"][:1]
    data = write_shards(tmp_path / "data", {"train": [record(0), bad, no_answer]})
    result, out = run(tmp_path, model_dir, data, max_steps=1)
    assert result.exit_code == 1, result.output
    assert "Error: 2 train record(s) would fail in the collator; nothing was trained:" in result.output
    assert "record 1" in result.output and "record 2" in result.output
    assert "set token_check: false to skip this check" in result.output
    assert not out.exists()


def test_run_adds_token_lengths_for_grouping(tmp_path, model_dir, loaded):
    """The dataset the trainer gets carries each record's exact token count (the collator's length)."""
    from vlmtrain.data import preflight
    from vlmtrain.training_args import VlmTrainConfig

    family, processor = loaded
    records = [record(0), record(9, size=56)]
    data = write_shards(tmp_path / "data", {"train": records})
    from vlmtrain.data import load_split

    cfg = VlmTrainConfig(
        output_dir=str(tmp_path / "o"), data_dir=str(data), max_length=None, use_cpu=True, report_to=[]
    )
    ds = preflight(cfg, load_split(data, "train"), processor, family)
    assert ds["length"] == [family.encode(processor, [r])["input_ids"].shape[1] for r in records]


def test_validation_loss_and_predict_at_end(tmp_path, model_dir, mixed):
    """eval_split + eval_strategy report validation loss on schedule; predict_at_end writes predictions
    for the validation split and scores them."""
    data, _ = mixed
    result, out = run(
        tmp_path,
        model_dir,
        data,
        max_steps=2,
        eval_split="validation",
        eval_strategy="steps",
        eval_steps=1,
        predict_at_end=True,
        predict_metrics=["exact_match", "bleu"],
        predict_max_new_tokens=4,
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "trainer_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "eval_loss" in r] == [1, 2]
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [p["id"] for p in preds] == ["rec-005"]
    assert preds[0]["reference"] == record(5)["messages"][1]["content"][0]["text"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["metrics"]) == {"exact_match", "bleu"} and metrics["num_samples"] == 1
    assert f"vlmtrain: validation predictions in {out / 'predictions.jsonl'}; exact_match" in result.output


def test_predict_at_end_needs_eval_split(tmp_path, model_dir, repeated):
    result, _ = run(tmp_path, model_dir, repeated, predict_at_end=True, predict_metrics=["nope"])
    assert result.exit_code == 2
    assert "predict_at_end: needs eval_split (the split to generate answers for)" in result.output
    assert "predict_metrics: unknown ['nope']" in result.output
