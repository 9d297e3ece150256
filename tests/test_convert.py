"""`vlmdata convert`: every output format, LLaMA-Factory interop, lossy targets, and bad input."""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from data_helpers import INTEROP, canonical, png_bytes, record, write_canonical
from vlmdata.cli import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_lf_demo_to_parquet_loads_with_datasets(lf_demo, tmp_path):
    import datasets

    result = run("convert", lf_demo, "--to", "parquet", "--out", tmp_path / "pq")
    assert result.exit_code == 0, result.output
    assert "train: 6; 8 image references" in result.output
    again = run("convert", tmp_path / "pq", "--to", "parquet", "--out", tmp_path / "pq2")  # the fast copy
    assert (
        again.output == f"Wrote parquet to {tmp_path / 'pq2'} (train: 6; 8 image references, 8 image files)\n"
    )
    ds = datasets.load_dataset("parquet", data_dir=str(tmp_path / "pq"), split="train")
    assert len(ds) == 6
    first = ds[0]
    assert [im.size for im in first["images"]] == [(300, 168), (300, 168)]
    assert first["messages"][0] == {
        "role": "user",
        "content": [{"type": "image", "text": None}, {"type": "text", "text": "Who are they?"}],
    }


def test_lf_demo_sharegpt_round_trip_is_unchanged(lf_demo, tmp_path):
    """mllm_demo.json -> canonical Parquet -> sharegpt gives LLaMA-Factory's records back as they were."""
    assert run("convert", lf_demo, "--to", "parquet", "--out", tmp_path / "pq").exit_code == 0
    result = run("convert", tmp_path / "pq", "--to", "sharegpt", "--out", tmp_path / "lf")
    assert result.exit_code == 0, result.output
    original = json.loads((lf_demo / "mllm_demo.json").read_text())
    written = json.loads((tmp_path / "lf" / "train.json").read_text())
    assert [r["messages"] for r in written] == [r["messages"] for r in original]
    for orig, new in zip(original, written, strict=True):
        assert [(lf_demo / p).read_bytes() for p in orig["images"]] == [
            (tmp_path / "lf" / p).read_bytes() for p in new["images"]
        ]
    # one entry per split; every column and tag listed, since LLaMA-Factory sets missing keys to None
    info = json.loads((tmp_path / "lf" / "dataset_info.json").read_text())
    assert info == {
        "lf": {
            "file_name": "train.json",
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images"},
            "tags": {
                "role_tag": "role",
                "content_tag": "content",
                "user_tag": "user",
                "assistant_tag": "assistant",
                "system_tag": "system",
            },
        }
    }
    # 1.jpg is used twice in record 0: stored once
    assert len(list((tmp_path / "lf" / "images").iterdir())) == 3
    assert canonical(tmp_path / "lf") == canonical(lf_demo)


def test_llamafactory_v1_jsonl_with_media_dir(tmp_path):
    """LLaMA-Factory v1 typed parts (`value`, `image_url`), paths relative to the repo root."""
    repo = tmp_path / "lfrepo"
    (repo / "data").mkdir(parents=True)
    shutil.copy(INTEROP / "llamafactory" / "v1_multimodal_demo.jsonl", repo / "data")
    shutil.copytree(INTEROP / "llamafactory" / "mllm_demo_data", repo / "data" / "mllm_demo_data")
    src = repo / "data" / "v1_multimodal_demo.jsonl"
    result = run("convert", src, "--to", "sharegpt", "--out", tmp_path / "out", "--media-dir", repo)
    assert result.exit_code == 0, result.output
    v1 = canonical(src, media_dir=repo)
    demo = canonical(INTEROP / "llamafactory")
    assert len(v1) == 24  # the v1 file is the six demo records four times over
    assert [r["messages"] for r in v1] == [r["messages"] for r in demo] * 4
    assert [r["images"] for r in v1] == [r["images"] for r in demo] * 4


@pytest.mark.parametrize("to", ["oai", "sharegpt", "llava", "parquet"])
def test_every_format_round_trips_to_the_same_records(tmp_path, to):
    records = [
        record("a", images=1),
        record("b", turns=(("user", "hi"), ("assistant", "hello")), images=0),
        record("c", turns=(("user", "q1"), ("assistant", "a1"), ("user", "q2"), ("assistant", "a2"))),
    ]
    src = write_canonical(tmp_path / "src", records)
    result = run("convert", src, "--to", to, "--out", tmp_path / to)
    assert result.exit_code == 0, result.output
    expected = [dict(r, images=[im["bytes"] for im in r["images"]]) for r in records]
    assert canonical(tmp_path / to) == expected


def test_splits_are_kept(tmp_path):
    src = write_canonical(tmp_path / "src", [record("t")], "train")
    write_canonical(src, [record("v")], "validation")
    assert run("convert", src, "--to", "sharegpt", "--out", tmp_path / "lf").exit_code == 0
    info = json.loads((tmp_path / "lf" / "dataset_info.json").read_text())
    assert {k: v["file_name"] for k, v in info.items()} == {
        "lf": "train.json",
        "lf_validation": "validation.json",
    }
    assert run("convert", tmp_path / "lf", "--to", "parquet", "--out", tmp_path / "pq").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "pq").iterdir()) == [
        "train-00000-of-00001.parquet",
        "validation-00000-of-00001.parquet",
    ]


def test_rerun_is_byte_identical(lf_demo, tmp_path):
    for to in ("parquet", "sharegpt", "llava", "oai"):
        first, second = tmp_path / "1" / to, tmp_path / "2" / to
        assert run("convert", lf_demo, "--to", to, "--out", first, "--allow-lossy").exit_code == 0
        assert run("convert", lf_demo, "--to", to, "--out", second, "--allow-lossy").exit_code == 0
        files = sorted(p.relative_to(first) for p in first.rglob("*"))
        assert files == sorted(p.relative_to(second) for p in second.rglob("*"))
        for rel in files:
            if (first / rel).is_file():
                assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_max_shard_size_splits_parquet(tmp_path):
    records = [record(f"r{i}") for i in range(6)]
    for i, rec in enumerate(records):  # make each record ~30 KB of image bytes, all different
        rec["images"] = [{"bytes": png_bytes((i, 1, 2)) + bytes(30_000), "path": "x.png"}]
    src = write_canonical(tmp_path / "src", records)
    result = run("convert", src, "--to", "parquet", "--out", tmp_path / "pq", "--max-shard-size", "50KB")
    assert result.exit_code == 0, result.output
    shards = sorted((tmp_path / "pq").glob("train-*.parquet"))
    assert len(shards) > 1 and shards[0].name.endswith(f"-of-{len(shards):05d}.parquet")
    assert sum(pq.read_metadata(s).num_rows for s in shards) == 6


# ---------------------------------------------------------------------------- lossy targets
def test_system_turn_into_llava_stops_unless_allowed(tmp_path):
    src = write_canonical(tmp_path / "src", [record("s", system="Be brief."), record("plain")])
    result = run("convert", src, "--to", "llava", "--out", tmp_path / "llava")
    assert result.exit_code == 1
    assert "1 record(s) cannot be expressed in llava without loss" in result.output
    assert "record 0: $.messages[0]: system turn dropped (LLaVA has no system turn)" in result.output
    assert not (tmp_path / "llava").exists()
    result = run("convert", src, "--to", "llava", "--out", tmp_path / "llava", "--allow-lossy")
    assert result.exit_code == 0, result.output
    assert "1 record(s) changed to fit llava" in result.output
    report = json.loads((tmp_path / "llava" / "conversion_report.json").read_text())
    assert report["changed_records"] == 1 and report["changes"][0]["id"] == "s"
    written = json.loads((tmp_path / "llava" / "train.json").read_text())
    assert [t["from"] for t in written[0]["conversations"]] == ["human", "gpt"]


def test_literal_image_token_in_text_is_lossy(tmp_path):
    src = write_canonical(
        tmp_path / "src",
        [record("h", turns=(("user", "what does <image> mean in html?"), ("assistant", "a tag")), images=0)],
    )
    result = run("convert", src, "--to", "sharegpt", "--out", tmp_path / "lf")
    assert result.exit_code == 1 and "literal <image> in text" in result.output


def test_several_images_into_llava(tmp_path):
    src = write_canonical(tmp_path / "src", [record("m", images=2)])
    assert run("convert", src, "--to", "llava", "--out", tmp_path / "a").exit_code == 1
    result = run("convert", src, "--to", "llava", "--out", tmp_path / "b", "--llava-image-list")
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "b" / "train.json").read_text())
    assert len(written[0]["image"]) == 2
    assert written[0]["conversations"][0]["value"] == "<image>\n<image>\nWhat is it?"


# ---------------------------------------------------------------------------- bad input
def test_existing_output_needs_overwrite(lf_demo, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    result = run("convert", lf_demo, "--to", "parquet", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "already exists; pass --overwrite" in result.output
    assert run("convert", lf_demo, "--to", "parquet", "--out", tmp_path / "out", "--overwrite").exit_code == 0
    assert not (tmp_path / "out" / "keep.txt").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'{"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}\n{"messages": [,]}\n',
            "train.jsonl:2 record 1: malformed JSON",
        ),
        (
            b'{"messages": [{"role": "bot", "content": "hi"}, {"role": "assistant", "content": "ok"}], "images": []}\n',
            "train.jsonl:1 record 0 $.messages[0].role: 'bot' is not one of",
        ),
        (
            b'{"messages": [{"role": "user", "content": "caf\xe9"}], "images": []}\n',
            "train.jsonl:1: file is not UTF-8 (byte 46)",
        ),
        (
            b'{"messages": [{"role": "user", "content": "<image>hi"}, {"role": "assistant", "content": "ok"}], "images": []}\n',
            "number of images (0) does not match number of <image> placeholders (1)",
        ),
        (
            b'{"messages": [{"role": "user", "content": "<image>hi"}, {"role": "assistant", "content": "ok"}], "images": ["../../etc/passwd"]}\n',
            "$.images[0]: image path escapes the dataset folder",
        ),
        (
            b'{"messages": [{"role": "user", "content": "<image>hi"}, {"role": "assistant", "content": "ok"}], "images": ["nope.png"]}\n',
            "$.images[0]: image file does not exist",
        ),
        (
            b'{"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "ok"}], "images": []}\n',
            # JSON type names, as the user wrote them (not Python's int/dict/NoneType)
            "$.messages[0].content: 5 is not of type 'string' (expected string, found integer)",
        ),
        (
            b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}], "images": {"a": 1}}\n',
            "$.images: {'a': 1} is not of type 'null' or 'string' or 'array' (expected null|string|array, found object)",
        ),
    ],
)
def test_bad_input_gives_one_clear_error_and_no_output(tmp_path, content, message):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "train.jsonl").write_bytes(content)
    result = run("convert", tmp_path / "in", "--to", "parquet", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in"]  # no temporary folder left behind


def test_empty_input_is_an_error_and_writes_nothing(tmp_path):
    """validate calls an empty file invalid; convert must not turn it into an empty dataset."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "train.jsonl").write_bytes(b"")
    result = run("convert", tmp_path / "in", "--to", "sharegpt", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'in'}: holds no records; nothing was written\n"
    assert [p.name for p in tmp_path.iterdir()] == ["in"]


def test_unwritable_output_is_one_clear_error(lf_demo, tmp_path):
    """An --out the OS refuses (here: under a regular file) is an error line, not a traceback."""
    (tmp_path / "afile").write_text("")
    result = run("convert", lf_demo, "--to", "parquet", "--out", tmp_path / "afile" / "out")
    assert result.exit_code == 1
    assert result.output == f"Error: File exists: {tmp_path / 'afile'}\n"


def test_interrupted_run_leaves_previous_output(lf_demo, tmp_path, monkeypatch):
    assert run("convert", lf_demo, "--to", "sharegpt", "--out", tmp_path / "out").exit_code == 0
    before = (tmp_path / "out" / "train.json").read_bytes()
    import vlmdata.convert as conv

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(conv.JsonSink, "close", boom)
    result = run("convert", lf_demo, "--to", "sharegpt", "--out", tmp_path / "out", "--overwrite")
    assert result.exit_code == 130
    assert result.output == (
        "Interrupted: nothing was written to the output path; run the same command again "
        "(a download resumes where it stopped, a convert starts over).\n"
    )
    assert (tmp_path / "out" / "train.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lf_demo", "out"]


def test_dataset_info_file_outside_the_folder_is_refused(lf_demo, tmp_path):
    (lf_demo / "dataset_info.json").write_text(
        json.dumps({"demo": {"file_name": "../elsewhere.json", "formatting": "sharegpt"}})
    )
    (tmp_path / "elsewhere.json").write_text("[]")
    result = run("convert", lf_demo, "--to", "parquet", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "$.demo: file_name points outside the dataset folder" in result.output
    assert not (tmp_path / "out").exists()
