"""`vlmtrain predict` on a tiny Qwen2-VL: the file it writes, batching, one image, and its errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from family_records import ALL
from post_helpers import RECORDS, foreign_adapter, narrower_qwen_adapter, png, qa, write_shards

from vlmtrain.cli import cli
from vlmtrain.predict import encode_for_generation, predict, predict_and_eval, split_record
from vlmtrain.tiny.make import BUILDERS

GEN = ["--max-new-tokens", "6"]


@pytest.fixture(scope="module")
def base(tiny_model):
    return tiny_model("qwen2_vl")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    no_answer = {**qa("no-answer", "What is it?", "x", "red"), "messages": RECORDS[0]["messages"][:1]}
    return write_shards(tmp_path_factory.mktemp("data"), [*RECORDS, no_answer])


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_split_record_prompt_is_turns_before_last_assistant():
    record = {
        "id": "m",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image", "text": None}, {"type": "text", "text": "How many?"}],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "Two."}]},
            {
                "role": "user",
                "content": [{"type": "image", "text": None}, {"type": "text", "text": "Colour?"}],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "Blue."}]},
        ],
        "images": ["img0", "img1"],
    }
    prompt, reference = split_record(record)
    assert reference == "Blue."
    assert [m["role"] for m in prompt["messages"]] == ["user", "assistant", "user"]
    assert prompt["images"] == ["img0", "img1"]
    prompt, reference = split_record({**record, "messages": record["messages"][:2]})
    assert (reference, prompt["images"]) == ("Two.", ["img0"])
    assert split_record({**record, "messages": record["messages"][:1]}) is None


def test_predict_cli_writes_predictions_jsonl(base, data, tmp_path):
    out = tmp_path / "preds.jsonl"
    args = ["predict", "--model", str(base), "--data", str(data), "--out", str(out), "--batch-size", "2"]
    result = CliRunner().invoke(cli, [*args, *GEN])
    assert result.exit_code == 0, result.output
    assert f"Wrote 5 prediction(s) to {out} in " in result.output
    assert "Skipped 1 record(s) with no assistant turn to predict: no-answer" in result.output
    rows = _lines(out)
    assert [r["id"] for r in rows] == ["r0", "r1", "r2", "r3", "r4"]
    assert [r["reference"] for r in rows] == [r["messages"][1]["content"][0]["text"] for r in RECORDS]
    assert rows[0]["prompt"] == "<image>What is in the image?"
    assert all(set(r) == {"id", "prompt", "reference", "prediction", "seconds"} for r in rows)
    assert all(isinstance(r["prediction"], str) and r["seconds"] > 0 for r in rows)
    assert not list(tmp_path.glob("*.tmp"))


def test_batched_generation_matches_one_at_a_time(base, data, tmp_path):
    one = predict(str(base), data=data, out=tmp_path / "one.jsonl", batch_size=1, max_new_tokens=6)
    many = predict(str(base), data=data, out=tmp_path / "many.jsonl", batch_size=5, max_new_tokens=6)
    assert one["num_predictions"] == many["num_predictions"] == 5
    preds_one = [r["prediction"] for r in _lines(tmp_path / "one.jsonl")]
    assert preds_one == [r["prediction"] for r in _lines(tmp_path / "many.jsonl")]
    assert len(set(preds_one)) > 1  # a model that ignores its input would make this test pointless


def test_sampling_is_seeded(base, data, tmp_path):
    outs = []
    for name, seed in [("a", "3"), ("b", "3"), ("greedy", None)]:
        out = tmp_path / f"{name}.jsonl"
        sampling = ["--temperature", "1.5", "--top-p", "0.95", "--seed", seed] if seed else []
        result = _invoke("--model", str(base), "--data", str(data), "--out", str(out), *sampling)
        assert result.exit_code == 0, result.output
        outs.append([r["prediction"] for r in _lines(out)])
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]  # sampling at temperature 1.5 leaves greedy's path on a random tiny model


def test_predict_one_image(base, tmp_path):
    image = tmp_path / "cat.png"
    image.write_bytes(png("red")["bytes"])
    out = tmp_path / "one.jsonl"
    args = [
        "predict",
        "--model",
        str(base),
        "--image",
        str(image),
        "--prompt",
        "What is it?",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(cli, [*args, *GEN])
    assert result.exit_code == 0, result.output
    (row,) = _lines(out)
    assert (row["id"], row["prompt"], row["reference"]) == ("cat.png", "<image>What is it?", None)
    assert result.output.startswith(row["prediction"] + "\n")


def test_predict_and_eval_writes_both_files(base, data, tmp_path):
    calls = []
    result = predict_and_eval(
        str(base),
        data,
        tmp_path / "eval",
        metrics=["exact_match", "anls"],
        max_new_tokens=4,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(i, 6) for i in range(1, 7)]  # one tick per record, the skipped one included
    assert result["predict"]["num_predictions"] == 5
    saved = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert list(saved["metrics"]) == ["exact_match", "anls"] and saved["num_samples"] == 5


def test_predict_and_eval_reuses_a_loaded_model(base, data, tmp_path, tiny_loaded):
    family, processor, model = tiny_loaded("qwen2_vl")
    model.train()
    result = predict_and_eval(
        None,
        data,
        tmp_path / "loaded",
        loaded=(family, processor, model),
        metrics=["anls"],
        max_new_tokens=4,
        limit=2,
    )
    assert model.training  # handed back in the mode it came in
    assert result["predict"]["num_predictions"] == 2
    from_disk = predict(str(base), data=data, out=tmp_path / "disk.jsonl", max_new_tokens=4, limit=2)
    assert from_disk["num_predictions"] == 2
    assert (
        _lines(tmp_path / "loaded" / "predictions.jsonl")[0]["prediction"]
        == _lines(tmp_path / "disk.jsonl")[0]["prediction"]
    )


def _invoke(*args):
    return CliRunner().invoke(cli, ["predict", *args, *GEN])


def test_missing_adapter_is_one_clear_error(base, data, tmp_path):
    result = _invoke("--model", str(base), "--data", str(data), "--adapter", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert result.output.strip().startswith(f"Error: {tmp_path / 'nope'}: adapter folder does not exist")
    assert "Traceback" not in result.output


def test_adapter_for_another_base_is_one_clear_error(base, data, tmp_path):
    adapter = foreign_adapter(tmp_path / "llama-adapter")
    result = _invoke(
        "--model",
        str(base),
        "--data",
        str(data),
        "--adapter",
        str(adapter),
        "--out",
        str(tmp_path / "p.jsonl"),
    )
    assert result.exit_code == 1
    assert f"Error: {adapter}: the adapter does not match the base model {base}" in result.output
    assert (
        "it has no weights for 8 LoRA tensor(s) of this model (first: base_model.model.model.language_model"
        in result.output
    )
    assert "pass the --model the adapter was trained on" in result.output
    assert not (tmp_path / "p.jsonl").exists()


def test_adapter_with_other_shapes_is_one_clear_error(base, data, tmp_path):
    adapter = narrower_qwen_adapter(tmp_path / "narrow-adapter")
    result = _invoke("--model", str(base), "--data", str(data), "--adapter", str(adapter))
    assert result.exit_code == 1
    assert f"Error: {adapter}: the adapter does not match the base model {base}" in result.output
    assert (
        "size mismatch for base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A"
        in result.output
    )
    assert result.output.count("\n") == 1  # one line, no traceback


def test_unreadable_image_file_is_one_clear_error(base, tmp_path):
    image = tmp_path / "broken.png"
    image.write_bytes(b"not a png")
    result = _invoke("--model", str(base), "--image", str(image), "--prompt", "What?")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {image}: cannot read the image: cannot identify image file '{image}'; "
        "give a PNG, JPEG, WebP, ... file\n"
    )


def test_unreadable_image_in_shard_names_the_record(base, tmp_path):
    bad = {**RECORDS[0], "id": "broken-7", "images": [{"bytes": b"\x89PNG garbage", "path": "x.png"}]}
    data = write_shards(tmp_path / "data", [RECORDS[1], bad])
    out = tmp_path / "p.jsonl"
    result = _invoke("--model", str(base), "--data", str(data), "--out", str(out), "--batch-size", "1")
    assert result.exit_code == 1
    assert (
        "Error: record 'broken-7' $.images[0] (x.png): cannot decode image: cannot identify image file\n"
        in result.output
    )
    assert not out.exists() and not (tmp_path / "p.jsonl.tmp").exists()


def test_unknown_model_is_one_clear_error(data, tmp_path):
    result = _invoke(
        "--model", "no-such-org/no-such-model", "--data", str(data), "--out", str(tmp_path / "p.jsonl")
    )
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: no-such-org/no-such-model: not a local model folder and not loadable"
    )
    assert not (tmp_path / "p.jsonl").exists()


def test_missing_model_folder_is_one_clear_error(data, tmp_path):
    """A path (not a Hub id) that does not exist: no Hub error text about repo ids."""
    result = _invoke(
        "--model", str(tmp_path / "nope"), "--data", str(data), "--out", str(tmp_path / "p.jsonl")
    )
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'nope'}: model folder does not exist\n"
    assert not (tmp_path / "p.jsonl").exists()


def test_missing_split_and_bad_mode(base, data):
    result = _invoke("--model", str(base), "--data", str(data), "--split", "test")
    assert result.exit_code == 1
    assert "no 'test' split (no test-*.parquet); splits found: validation" in result.output
    result = _invoke("--model", str(base))
    assert result.exit_code == 1 and "give either --data DIR" in result.output


TEXT_ONLY = {
    "id": "text-only",
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Thank you!"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "You are welcome."}]},
    ],
    "images": [],
}


@pytest.mark.slow
@pytest.mark.parametrize("family_name", BUILDERS)
def test_left_padded_batch_equals_single_rows(tiny_loaded, family_name):
    """Every family: each row of a left-padded generation batch holds exactly its single-row encoding at
    the right end (all sequence-aligned keys, e.g. Mllama's cross_attention_mask), padding on the left,
    and the next-token logits match the single-row ones."""
    import torch

    family, processor, model = tiny_loaded(family_name)
    model.eval()
    records = [*RECORDS[:3], TEXT_ONLY, RECORDS[3]] if family.supports_text_only else RECORDS[:4]
    prompts = [split_record(r)[0] for r in records]
    batch = encode_for_generation(family, processor, prompts)
    width = batch["input_ids"].shape[1]
    with torch.no_grad():
        batch_logits = model(**batch).logits[:, -1]
    for i, prompt in enumerate(prompts):
        single = encode_for_generation(family, processor, [prompt])
        n = single["input_ids"].shape[1]
        assert batch["attention_mask"][i, : width - n].sum() == 0
        seq_keys = [k for k, v in single.items() if v.dim() >= 2 and v.shape[1] == n]
        assert {"input_ids", "attention_mask"} <= set(seq_keys)
        for key in seq_keys:
            assert torch.equal(batch[key][i, width - n :], single[key][0]), (family_name, key, i)
        with torch.no_grad():
            single_logits = model(**single).logits[0, -1]
        assert torch.allclose(batch_logits[i], single_logits, atol=1e-4), (family_name, i)


@pytest.mark.parametrize("name", BUILDERS)
@pytest.mark.parametrize("record", [ALL[0], ALL[1]], ids=lambda r: r["id"])
def test_prompt_is_the_training_text_up_to_the_answer(tiny_loaded, name, record):
    """Every family: `predict` prompts as training saw the turn, its ids are the trained record's ids up
    to where the last answer's labels start (LLaVA-OneVision's template writes a generation prompt its
    assistant turns do not have; the family prompts with the header they are trained after)."""
    fam, proc, _model = tiny_loaded(name)
    if not fam.multi_turn and len(record["messages"]) > 2:
        pytest.skip(f"{name} trains on single-turn records")
    if not fam.supports_system and any(m["role"] == "system" for m in record["messages"]):
        pytest.skip(f"{name} takes no system turn")
    trained = fam.encode_one(proc, record)
    ids, labels = trained["input_ids"][0].tolist(), trained["labels"][0].tolist()
    answer = max(i for i in range(1, len(labels)) if labels[i] != -100 and labels[i - 1] == -100)
    prompt = encode_for_generation(fam, proc, [split_record(record)[0]])
    assert prompt["input_ids"][0].tolist() == ids[:answer]


@pytest.mark.parametrize("name", BUILDERS)
def test_generation_stops_on_the_token_that_ends_a_trained_answer(tiny_loaded, name):
    """Every family: each labelled answer that ends with an end-of-turn (the template's, the EOS appended
    after a final answer, or GLM's <|user|> after an earlier one) ends with a token the model's
    generation config stops on, so `predict` stops where training taught the model to; an earlier answer
    trained without a stop (LLaVA-1.5) ends with its own text."""
    from family_records import LATER_IMAGE, MULTI_TURN, SINGLE

    fam, proc, model = tiny_loaded(name)
    stops = model.generation_config.eos_token_id
    stops = {stops} if isinstance(stops, int) else set(stops)
    tok = getattr(proc, "tokenizer", proc)
    record = (MULTI_TURN if fam.supports_system else LATER_IMAGE) if fam.multi_turn else SINGLE
    labels = fam.encode_one(proc, record)["labels"][0].tolist()
    ends = [
        labels[i] for i in range(len(labels)) if labels[i] != -100 and labels[i + 1 :][:1] in ([], [-100])
    ]
    *earlier, final = ends
    assert final in stops, (name, tok.decode([final]))
    for t in earlier:
        assert (t in stops) == bool(fam.history_end_of_turn), (name, tok.decode([t]))
