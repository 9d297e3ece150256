"""`vlmtrain check` end to end through the click CLI, on a canonical shard and a real/tiny processor."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from tokens_helpers import GRANITE_DIR, record, write_shard

from vlmtrain.cli import cli


def _config(tmp_path, model_dir, data_dir, **extra) -> str:
    lines = [f"model_name_or_path: {model_dir}", f"data_dir: {data_dir}"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    path = tmp_path / "check.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def granite_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    recs = [
        record([(384, 384)], rid="a"),  # 1,485 image tokens
        record([(640, 480)], rid="b"),  # 2,929 image tokens
        record([], rid="c"),
        record([(384, 384), (384, 384)], rid="d"),
    ]
    write_shard(d, recs)
    return d


def test_json_report_exact(tmp_path, granite_data):
    cfg = _config(tmp_path, GRANITE_DIR, granite_data, max_length=4096, per_device_train_batch_size=2)
    res = CliRunner().invoke(cli, ["check", cfg, "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)["report"]
    assert rep["samples"] == 4 and rep["ok"] is True and rep["method"] == "rule"
    assert rep["images_per_sample"] == {"0": 1, "1": 2, "2": 1}
    assert rep["image_tokens"]["min"] == 1485 and rep["image_tokens"]["max"] == 2929
    assert rep["over_max_length"]["count"] == 0 and rep["image_truncated"]["count"] == 0
    lengths = rep["lengths"]
    assert sum(b["count"] for b in lengths["histogram"]) == 4
    # padding: sums of real tokens are the same whichever way the batches are cut
    pad = rep["padding"]
    assert pad["random"]["total_tokens"] - pad["random"]["pad_tokens"] == (
        pad["length_grouped"]["total_tokens"] - pad["length_grouped"]["pad_tokens"]
    )
    assert pad["length_grouped"]["pad_tokens"] <= pad["random"]["pad_tokens"]


def test_over_max_length_fails_and_lists_records(tmp_path, granite_data):
    cfg = _config(tmp_path, GRANITE_DIR, granite_data, max_length=2000)
    res = CliRunner().invoke(cli, ["check", cfg])
    assert res.exit_code == 1
    assert "over max_length 2000: 2 (2 would lose image tokens, 0 only text)" in res.output
    assert "record 1 (b)" in res.output and "record 3 (d)" in res.output
    assert "not ok: 2 record(s) would break training" in res.output

    res = CliRunner().invoke(cli, ["check", cfg, "--json", "--max-length", "8000"])
    assert res.exit_code == 0
    assert json.loads(res.output)["report"]["max_length"] == 8000


def test_missing_config_keys_is_a_clean_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("max_length: 10\n")
    res = CliRunner().invoke(cli, ["check", str(path)])
    assert res.exit_code == 2
    assert res.output == (
        f"Error: {path}: 2 problem(s):\n  - model_name_or_path: required key missing\n"
        "  - data_dir: required key missing\n"
    )
    assert "Traceback" not in res.output


def test_missing_split_names_the_fix(tmp_path, granite_data):
    cfg = _config(tmp_path, GRANITE_DIR, granite_data)
    res = CliRunner().invoke(cli, ["check", cfg, "--split", "validation"])
    assert res.exit_code == 2
    assert "no 'validation-*.parquet' shards" in res.output


def test_show_labels_terminal_json_and_html(tmp_path, tiny_model):
    data = tmp_path / "data"
    write_shard(data, [record([(56, 56)], rid="x", answer="A gray box."), record([], rid="y")])
    cfg = _config(tmp_path, tiny_model("qwen2_vl"), data, max_length=512)
    html = tmp_path / "labels.html"
    res = CliRunner().invoke(cli, ["check", cfg, "--show-labels", "2", "--html", str(html)])
    assert res.exit_code == 0, res.output
    assert "<image\u00a0x4>" in res.output and "x: " in res.output  # no-break space: never wrapped
    page = html.read_text()
    assert page.count("<h2>") == 2
    assert '<span class="image">&lt;image x4&gt;</span>' in page
    assert '<span class="trained">A gray box.&lt;|im_end|&gt;</span>' in page

    res = CliRunner().invoke(cli, ["check", cfg, "--show-labels", "1", "--json"])
    assert res.exit_code == 0
    out = json.loads(res.output)
    (view,) = out["labels"]
    kinds = [s["kind"] for s in view["segments"]]
    assert kinds.count("image") == 1 and "trained" in kinds and kinds[0] == "masked"
    trained = "".join(s["text"] for s in view["segments"] if s["kind"] == "trained")
    assert trained == "A gray box.<|im_end|>"
    assert (
        view["length"] == out["report"]["lengths"]["min"] or view["length"] == out["report"]["lengths"]["max"]
    )


def test_check_data_hook_for_vlmdata_validate(granite_data):
    """`vlmdata validate --model DIR --max-length N` calls this; same numbers as the CLI."""
    from vlmtrain.check import check_data

    report = check_data(granite_data, GRANITE_DIR, max_length=3000)
    assert report.ok is False
    assert [c.id for c in report.image_truncated] == ["d"]  # two 384px images: 2 x 1,485 tokens + text
    assert sorted(t for c in report.counts for t in c.image_tokens) == [1485, 1485, 1485, 2929]
    assert report.blocking[0].code == "image-truncated" and report.blocking[0].where.record == 3


def test_several_shards_positions_and_verify(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vlmdata.record import ARROW_SCHEMA

    data = tmp_path / "data"
    data.mkdir()
    recs = [record([(100 + 10 * i, 80)], rid=f"s{i}") for i in range(5)]
    for k, part in enumerate([recs[:3], recs[3:]]):
        pq.write_table(
            pa.Table.from_pylist(part, schema=ARROW_SCHEMA), data / f"train-0000{k}-of-00002.parquet"
        )
    cfg = _config(tmp_path, GRANITE_DIR, data, max_length=4096)
    res = CliRunner().invoke(cli, ["check", cfg, "--json", "--verify", "5", "--max-length", "100"])
    assert res.exit_code == 1
    rep = json.loads(res.output)["report"]
    rows = rep["over_max_length"]["records"]
    assert [(r["id"], r["record"], r["position"]) for r in rows] == [
        ("s0", 0, 0),
        ("s1", 1, 1),
        ("s2", 2, 2),
        ("s3", 0, 3),
        ("s4", 1, 4),
    ]
    assert {p["code"] for p in rep["problems"]} == {"image-truncated"}  # verify found no count mismatch


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PAR1 cut short", "not a readable Parquet file"),
        (
            None,
            "not a vlmdata shard: no column(s) id, messages, images (expected id, messages, images, found a)",
        ),
    ],
)
def test_bad_shard_is_one_clear_error_in_check_run_and_predict(tmp_path, content, message):
    """A truncated or non-canonical shard: one error naming the file, from every reader (no traceback)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vlmtrain import data, predict
    from vlmtrain.data import iter_split
    from vlmtrain.errors import VlmTrainError

    shard = tmp_path / "d" / "train-00000-of-00001.parquet"
    shard.parent.mkdir()
    if content is None:
        pq.write_table(pa.table({"a": [1]}), shard)
    else:
        shard.write_bytes(content)
    for read in (lambda: next(iter_split(shard.parent)), lambda: data.load_split(shard.parent, "train"),
                 lambda: predict.load_split(shard.parent, "train")):  # fmt: skip
        with pytest.raises(
            VlmTrainError, match="^" + str(shard).replace(".", r"\.") + ": " + re.escape(message)
        ):
            read()
    res = CliRunner().invoke(cli, ["check", _config(tmp_path, GRANITE_DIR, shard.parent)])
    assert res.exit_code == 1
    assert res.output.startswith(f"Error: {shard}: {message}")
    assert "Traceback" not in res.output


def test_model_path_that_is_not_json_is_one_clear_error(tmp_path):
    from vlmtrain.errors import VlmTrainError
    from vlmtrain.families import resolve_family

    (tmp_path / "w.bin").write_bytes(b"\xae\x00\xff")
    with pytest.raises(
        VlmTrainError, match=r"w\.bin: not a model config\.json \(not JSON\); give the model folder"
    ):
        resolve_family(tmp_path / "w.bin")


def test_key_value_overrides_as_in_run(tmp_path, granite_data):
    cfg = _config(tmp_path, GRANITE_DIR, granite_data, max_length=2000)
    res = CliRunner().invoke(
        cli, ["check", cfg, "max_length=8000", "per_device_train_batch_size=2", "--json"]
    )
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)["report"]
    assert (report["max_length"], report["batch_size"]) == (8000, 2)
    bad = CliRunner().invoke(cli, ["check", cfg, "max_lenght=8000"])
    assert bad.exit_code == 2
    assert "max_lenght" in bad.output and "max_length" in bad.output


@pytest.mark.parametrize(
    "name, kind",
    [
        ("gemma3n", "audio"),
        ("gemma4", "audio"),
        ("glm4v", "video"),
    ],
)
def test_other_modality_parts_are_refused_with_the_record(tmp_path, tiny_model, name, kind):
    """Families whose models also take audio (or video) and have no rule for it do not train on it: such a part is a
    problem naming the record and the part (check), and the collator refuses the record the same way."""
    from vlmtrain.errors import VlmTrainError
    from vlmtrain.families import resolve_family

    other = record([(64, 64)], rid="other")
    other["messages"][0]["content"].insert(1, {"type": kind, "text": None})
    data = tmp_path / "data"
    write_shard(data, [record([(64, 64)], rid="ok"), other])
    res = CliRunner().invoke(cli, ["check", _config(tmp_path, tiny_model(name), data, max_length=512)])
    assert res.exit_code == 1, res.output
    fam = resolve_family(tiny_model(name))
    takes = "text, image and video" if fam.video is not None else "text and image"  # Gemma 4 takes video
    message = (
        f"record 'other' $.messages[0].content[1]: {kind} parts are not supported yet by the "
        f"{name} family (only {takes})"
    )
    assert message in " ".join(res.output.split()), res.output
    with pytest.raises(VlmTrainError, match=re.escape(message)):
        fam.encode_one(fam.load_processor(tiny_model(name)), other)
