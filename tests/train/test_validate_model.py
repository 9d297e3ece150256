"""`vlmdata validate --model DIR --max-length N` with a real tiny model: the counts are the training
encoding's exact lengths, and only records over the limit are reported."""

from __future__ import annotations

import json

from click.testing import CliRunner

from vlmdata.cli import cli

ANSWERS = ["A square.", "A red square on a plain background, drawn with a thick brush and rounded corners."]


def test_validate_counts_tokens_with_the_model(tiny_model, tmp_path):
    from PIL import Image

    from vlmtrain.families import resolve_family

    model = tiny_model("qwen2_vl")
    Image.new("RGB", (64, 48), "red").save(tmp_path / "a.png")
    rows = [
        {
            "messages": [
                {"role": "user", "content": "<image>Describe it."},
                {"role": "assistant", "content": answer},
            ],
            "images": ["a.png"],
        }
        for answer in ANSWERS
    ]
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    family = resolve_family(model)
    processor = family.load_processor(model)
    lengths = []
    for answer in ANSWERS:
        rec = {
            "id": "x",
            "images": [Image.open(tmp_path / "a.png")],
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image", "text": None}, {"type": "text", "text": "Describe it."}],
                },
                {"role": "assistant", "content": [{"type": "text", "text": answer}]},
            ],
        }
        lengths.append(family.encode_one(processor, rec)["input_ids"].shape[1])
    assert lengths[0] < lengths[1]

    args = ["validate", str(data), "--model", str(model), "--json", "--max-length"]
    result = CliRunner().invoke(cli, [*args, str(lengths[0])])  # the short record fits exactly
    assert result.exit_code == 1, result.output
    problems = json.loads(result.output)["problems"]
    assert [(p["code"], p["record"], p["found"]) for p in problems] == [
        ("over-max-length", 1, str(lengths[1]))
    ]
    ok = CliRunner().invoke(cli, [*args, str(lengths[1])])
    assert ok.exit_code == 0
    tokens = json.loads(ok.output)["tokens"]
    assert [(r["record"], r["length"], r["over_length"]) for r in tokens["records"]] == [
        (0, lengths[0], False),
        (1, lengths[1], False),
    ]
    assert tokens["records"][0]["image_tokens"] > 0
    text = CliRunner().invoke(cli, args[:-2] + ["--max-length", str(lengths[0])])
    assert (
        f"min {lengths[0]}, median {lengths[1]}, max {lengths[1]}; 1 over max_length {lengths[0]}"
        in text.output
    )


def test_the_plugin_label_spans_are_the_collators_labels(tiny_model, tmp_path):
    """vlmdata's token-counting plugin, found through its entry point: prompt masked, answer trained."""
    from PIL import Image

    from vlmdata.token_counting import load_token_counter

    counter = load_token_counter(tiny_model("qwen2_vl"), 512)
    Image.new("RGB", (64, 48), "red").save(tmp_path / "a.png")
    rec = {
        "id": "x",
        "source": "",
        "images": [{"bytes": None, "path": str(tmp_path / "a.png")}],
        "messages": [
            {"role": "user", "content": [{"type": "image", "text": None}, {"type": "text", "text": "Hi?"}]},
            {"role": "assistant", "content": [{"type": "text", "text": ANSWERS[0]}]},
        ],
    }
    spans = counter.label_spans(rec)
    assert {kind for _, kind in spans} == {"prompt", "train", "image"}
    assert "".join(t for t, kind in spans if kind == "train") == ANSWERS[0] + "<|im_end|>"
    assert spans[0][1] == "prompt"
