"""The generic source: hub:<repo> through a mirror, and local folders (column-mapped or in a format)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from download_helpers import MIRROR, rows, run
from vlmdata.sources.base import pick
from vlmdata.sources.captions import PROMPTS

IMG = {"type": "image", "text": None}


def png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, format="PNG")
    return buf.getvalue()


def write_folder(folder: Path, columns: dict[str, pa.Array], features: dict) -> None:
    folder.mkdir(parents=True)
    schema = pa.schema(
        [pa.field(k, v.type) for k, v in columns.items()],
        metadata={"huggingface": json.dumps({"info": {"features": features}})},
    )
    pq.write_table(pa.table(columns, schema=schema), folder / "train.parquet")


IMAGE_T = pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])
STR = {"dtype": "string", "_type": "Value"}


def test_hub_repo_through_mirror_is_read_as_captions(tmp_path, cache):
    out = tmp_path / "o"
    run(["hub:lambdalabs/naruto-blip-captions", "--hub-mirror", str(MIRROR), "--out", str(out)], cache)
    got = rows(out)
    assert len(got) == 5
    rid = "lambdalabs-naruto-blip-captions-train-00000-000000"
    assert got[0]["id"] == rid
    assert got[0]["messages"][0]["content"] == [IMG, {"type": "text", "text": pick(PROMPTS, rid, 0)}]
    assert got[0]["source"] == "lambdalabs/naruto-blip-captions"


def test_vqa_columns_map(tmp_path, cache):
    src = tmp_path / "vqa"
    write_folder(
        src,
        {
            "picture": pa.array([{"bytes": png("red"), "path": "a.png"}], IMAGE_T),
            "q": pa.array(["What color?"]),
            "a": pa.array(["red"]),
        },
        {"picture": {"_type": "Image"}, "q": STR, "a": STR},
    )
    out = tmp_path / "o"
    run([str(src), "--columns", "image=picture,question=q,answer=a", "--out", str(out)], cache)
    assert rows(out) == [
        {
            "id": "vqa-train-00000-000000",
            "messages": [
                {"role": "user", "content": [IMG, {"type": "text", "text": "What color?"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "red"}]},
            ],
            "images": [{"bytes": png("red"), "path": "a.png"}],
            "videos": [],
            "audios": [],
            "source": "vqa",
        }
    ]


def test_classification_folder_uses_class_names(tmp_path, cache):
    src = tmp_path / "cls"
    write_folder(
        src,
        {
            "image": pa.array([{"bytes": png("blue"), "path": None}] * 2, IMAGE_T),
            "label": pa.array([1, 0], pa.int64()),
        },
        {
            "image": {"_type": "Image"},
            "label": {"names": ["golden_retriever", "tabby_cat"], "_type": "ClassLabel"},
        },
    )
    out = tmp_path / "o"
    run([str(src), "--prompt", "Which animal?", "--out", str(out)], cache)
    assert [r["messages"][1]["content"][0]["text"] for r in rows(out)] == ["tabby cat", "golden retriever"]
    assert {r["messages"][0]["content"][1]["text"] for r in rows(out)} == {"Which animal?"}


def test_bad_columns_map_lists_the_columns(tmp_path, cache):
    src = tmp_path / "vqa"
    write_folder(
        src,
        {"picture": pa.array([{"bytes": png("red"), "path": None}], IMAGE_T), "q": pa.array(["?"])},
        {"picture": {"_type": "Image"}, "q": STR},
    )
    r = run([str(src), "--columns", "image=img,question=q", "--out", str(tmp_path / "o")], cache, ok=False)
    assert r.exit_code == 2
    assert "--columns names column(s) that" in r.output
    assert "image=img; its columns are: picture, q" in r.output
    r = run([str(src), "--columns", "picture", "--out", str(tmp_path / "o")], cache, ok=False)
    assert r.exit_code == 2
    assert "bad --columns entry 'picture': write ROLE=COLUMN pairs" in r.output
    r = run([str(src), "--out", str(tmp_path / "o")], cache, ok=False)
    assert r.exit_code == 2
    assert "no image column found among picture, q; name it with --columns image=COLUMN" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vqa"]  # no output, no leftovers


def test_local_folder_in_oai_format(tmp_path, cache):
    src = tmp_path / "oai"
    (src / "imgs").mkdir(parents=True)
    (src / "imgs" / "x.png").write_bytes(png("green"))
    record = {
        "id": "r1",
        "messages": [
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Color?"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "green"}]},
        ],
        "images": ["imgs/x.png"],
    }
    (src / "train.jsonl").write_text(json.dumps(record) + "\n")
    out = tmp_path / "o"
    run([str(src), "--out", str(out)], cache)
    assert rows(out) == [
        {
            "id": "r1",
            "messages": [
                {"role": "user", "content": [IMG, {"type": "text", "text": "Color?"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "green"}]},
            ],
            "images": [{"bytes": png("green"), "path": "x.png"}],
            "videos": [],
            "audios": [],
            "source": "oai",
        }
    ]


def test_hub_repo_already_in_oai_layout(tmp_path, cache):
    """HuggingFaceH4/llava-instruct-mix-vsft's layout: messages with {type, text, index} parts, images list."""
    part = pa.struct(
        [pa.field("index", pa.int64()), pa.field("text", pa.string()), pa.field("type", pa.string())]
    )
    message = pa.struct([pa.field("content", pa.list_(part)), pa.field("role", pa.string())])
    messages = [
        {"role": "user", "content": [{"index": 0, "text": None, "type": "image"},
                                     {"index": None, "text": "What is it?", "type": "text"}]},
        {"role": "assistant", "content": [{"index": None, "text": "A square.", "type": "text"}]},
    ]  # fmt: skip
    features = {
        "messages": {
            "feature": {
                "content": {"feature": {"index": {"dtype": "int64", "_type": "Value"}, "text": STR, "type": STR},
                            "_type": "List"},
                "role": STR,
            },
            "_type": "List",
        },
        "images": {"feature": {"_type": "Image"}, "_type": "List"},
    }  # fmt: skip
    write_folder(
        tmp_path / "mirror/HuggingFaceH4/llava-instruct-mix-vsft/data",
        {
            "messages": pa.array([messages], pa.list_(message)),
            "images": pa.array([[{"bytes": png("white"), "path": None}]], pa.list_(IMAGE_T)),
        },
        features,
    )
    out = tmp_path / "o"
    run(
        [
            "hub:HuggingFaceH4/llava-instruct-mix-vsft",
            "--hub-mirror",
            str(tmp_path / "mirror"),
            "--out",
            str(out),
        ],
        cache,
    )
    assert rows(out) == [
        {
            "id": "HuggingFaceH4-llava-instruct-mix-vsft-train-00000-000000",
            "messages": [
                {"role": "user", "content": [IMG, {"type": "text", "text": "What is it?"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "A square."}]},
            ],
            "images": [{"bytes": png("white"), "path": None}],
            "videos": [],
            "audios": [],
            "source": "HuggingFaceH4/llava-instruct-mix-vsft",
        }
    ]
