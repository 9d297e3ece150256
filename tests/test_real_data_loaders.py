"""Issue 19 item 6: each real file of fixtures/real_data/ gives the records its own project's loader
trains on (read from that project's code; the report of the change names each loader and what was
compared), and what that loader refuses we refuse, with its reason.

Records are read through the CLI (`convert --to oai`) and written here compactly: one turn a tuple
(role, parts), an image part as "@" + the source file it holds (found by its bytes), text verbatim.

xtuner (InternLM/xtuner, `xtuner/v1/datasets/mllm_tokenize_fn/base_mllm_tokenize_fn.py`,
`xtuner/v1/data_proto/messages/chat.py`): `image_url` parts render as nothing; each `<IMG_CONTEXT>` in a
user turn's text part becomes the next image (`replace_image_token`), and markers must be as many as
images. Paths are joined to `media_root` (`tests/` in its own tests: the case folder here).
"""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from click.testing import CliRunner

from data_helpers import FIXTURES
from vlmdata.cli import cli

REAL = FIXTURES / "real_data"
DOG, CATS = "@mscoco_dog_000000319154.jpg", "@mscoco_twocat_000000039769.jpg"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def read(tmp_path, folder: str, path: str, media_dir: str | None = ".") -> list[tuple]:
    """The case's records as the reader gives them: [(id, [(role, [part, ...]), ...]), ...]."""
    src = tmp_path / "case"
    shutil.copytree(REAL / folder, src)
    media = ["--media-dir", src / media_dir] if media_dir is not None else []
    out = tmp_path / "oai"
    result = run("convert", src / path, "--to", "oai", "--out", out, *media)
    assert result.exit_code == 0, result.output
    names = {hashlib.sha256(f.read_bytes()).hexdigest(): f.name for f in src.rglob("*") if f.is_file()}
    records = []
    for line in (out / "train.jsonl").read_text().splitlines():
        rec = json.loads(line)
        images = iter(rec["images"])
        turns = []
        for m in rec["messages"]:
            parts = []
            for p in m["content"]:
                if p["type"] == "text":
                    parts.append(p["text"])
                else:
                    parts.append("@" + names[hashlib.sha256((out / next(images)).read_bytes()).hexdigest()])
            turns.append((m["role"], parts))
        assert next(images, None) is None
        records.append((rec["id"], turns))
    return records


def refusal(tmp_path, records: list[dict], folder: str = "xtuner") -> list[dict]:
    """validate --json on records written next to the case's images: its problems (and convert refuses
    the file the same way, writing nothing)."""
    src = tmp_path / "case"
    shutil.copytree(REAL / folder, src)
    path = src / "bad.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    result = run("validate", path, "--json")
    assert result.exit_code == 1, result.output
    problems = json.loads(result.output)["problems"]
    conv = run("convert", path, "--to", "parquet", "--out", tmp_path / "out")
    assert conv.exit_code == 1 and "Traceback" not in conv.output
    assert problems[0]["message"] in conv.output
    assert not (tmp_path / "out").exists()
    return [{k: p[k] for k in ("record", "code", "message", "path", "expected", "found")} for p in problems]


# ---- xtuner --------------------------------------------------------------------------------------------

XTUNER_FIRST_LAST = {
    # the first and the last record of each file, as xtuner's tokenize function lays them out
    "resource/mllm_sft_single_image_example_data.jsonl": (
        ("1", [("user", [DOG, "\n图片中的狗是什么颜色？"]), ("assistant", ["图片中的狗是棕色的。"]),
               ("user", ["这只狗有什么类型的项圈？"]), ("assistant", ["这只狗有一条红色的项圈。"]),
               ("user", ["那只狗在窗后的位置是什么？"]), ("assistant", ["那只狗正坐在窗户后面。"]),
               ("user", ["那只狗望着窗外时，它的表情是怎样的？"]),
               ("assistant", ["当狗凝视窗外的时候，它看起来是在渴望着什么东西。 这也许暗示了它想要到外面去或者与某人或某物进行互动。"]),
               ("user", ["你能描述一下狗的毛吗？"]),
               ("assistant", ["这只狗有蓬松、毛茸茸的棕色皮毛，使它看起来既可爱又温顺。"])]),
        ("22", [("user", [CATS, "\nCan you describe the picture?"]),
                ("assistant", ["The picture shows two cats leisurely lying on the sofa, with 2 TV remotes next to them."])]),
    ),
    "resource/mllm_sft_multi_image_example_data.jsonl": (
        ("1", [("user", [DOG, "\n", CATS, "\n两张图片有啥相同之处？"]), ("assistant", ["两幅图片中都存在动物。"]),
               ("user", ["都有些什么动物？"]), ("assistant", ["第一幅图片中有一只狗，第二副图片中有两只猫。"])]),
        ("11", [("user", [CATS, "\nHow many cats are in the first image?"]),
                ("assistant", ["There are 2 cats in the image."]),
                ("user", ["What else is in the first image?"]),
                ("assistant", ["There are also 2 TV remotes in the first image."]),
                ("user", [DOG, "\nWhat are the two cats doing?"]),
                ("assistant", ["They are leisurely lying on the sofa."]),
                ("user", ["Can you describe the first image?"]),
                ("assistant", ["The image shows two cats leisurely lying on the sofa, with 2 TV remotes next to them."])]),
    ),
    # the newer layout: {"type": "image"} parts, no marker; each image stands at its part
    "resource/mllm_sft_single_image_example_data_new.jsonl": (
        ("1", [("user", [DOG, "图片中的狗是什么颜色？"]), ("assistant", ["图片中的狗是棕色的。"]),
               ("user", ["这只狗有什么类型的项圈？"]), ("assistant", ["这只狗有一条红色的项圈。"]),
               ("user", ["那只狗在窗后的位置是什么？"]), ("assistant", ["那只狗正坐在窗户后面。"]),
               ("user", ["那只狗望着窗外时，它的表情是怎样的？"]),
               ("assistant", ["当狗凝视窗外的时候，它看起来是在渴望着什么东西。 这也许暗示了它想要到外面去或者与某人或某物进行互动。"]),
               ("user", ["你能描述一下狗的毛吗？"]),
               ("assistant", ["这只狗有蓬松、毛茸茸的棕色皮毛，使它看起来既可爱又温顺。"])]),
        ("22", [("user", [CATS, "Can you describe the picture?"]),
                ("assistant", ["The picture shows two cats leisurely lying on the sofa, with 2 TV remotes next to them."])]),
    ),
}  # fmt: skip


@pytest.mark.parametrize("path", list(XTUNER_FIRST_LAST))
def test_xtuner_records_first_and_last(tmp_path, path):
    records = read(tmp_path, "xtuner", path)
    assert (records[0], records[-1]) == XTUNER_FIRST_LAST[path]


@pytest.mark.parametrize(
    "path",
    [
        "resource/mllm_sft_single_image_example_data.jsonl",
        "resource/mllm_sft_multi_image_example_data.jsonl",
        "resource/mllm_sft_multi_image_example_data2.jsonl",
    ],
)
def test_xtuner_img_context_markers_become_the_images_where_they_stand(tmp_path, path):
    """Acceptance (issue 19): every marker of the file is an image part at its place, no text holds one,
    and the k-th marker of a record holds the k-th image_url part's image."""
    src = (REAL / "xtuner" / path).read_text().splitlines()
    records = read(tmp_path, "xtuner", path)
    assert len(records) == len(src)
    for line, (rec_id, turns) in zip(src, records, strict=True):
        raw = json.loads(line)
        assert rec_id == str(raw["id"])
        expected = []  # the raw turns with each marker replaced by the next image_url part's file
        urls = iter(
            "@" + p["image_url"]["url"].split("/")[-1]
            for m in raw["messages"]
            if isinstance(m["content"], list)
            for p in m["content"]
            if p["type"] == "image_url"
        )
        for m in raw["messages"]:
            if isinstance(m["content"], str):
                expected.append((m["role"], [m["content"]]))
                continue
            text = "".join(p["text"] for p in m["content"] if p["type"] == "text")
            parts = []
            for k, piece in enumerate(text.split("<IMG_CONTEXT>")):
                if k:
                    parts.append(next(urls))
                if piece:
                    parts.append(piece)
            expected.append((m["role"], parts))
        assert next(urls, None) is None
        assert turns == expected
        assert not any("<IMG_CONTEXT>" in p for _, parts in turns for p in parts)
        assert sum(p.startswith("@") for _, parts in turns for p in parts) == line.count("<IMG_CONTEXT>")


def test_xtuner_images_in_two_turns_each_at_its_marker(tmp_path):
    records = read(tmp_path, "xtuner", "resource/mllm_sft_multi_image_example_data2.jsonl")
    first = records[0][1]
    assert [(i, p) for i, (_, parts) in enumerate(first) for p in parts if p.startswith("@")] == [
        (0, DOG),
        (10, DOG),
    ]
    assert first[10] == ("user", [DOG, "\n那只狗望着窗外时，它的表情是怎样的？"])


def _xtuner_record(user_parts, *more, images=None):
    rec = {"id": 1, "messages": [{"role": "user", "content": user_parts}, *more]}
    if images is not None:
        rec["images"] = images
    return rec


def _url(name="mscoco_dog_000000319154.jpg"):
    return {"type": "image_url", "image_url": {"url": f"resource/{name}", "image_wh": [375, 500]}}


def _text(t):
    return {"type": "text", "text": t}


ANSWER = {"role": "assistant", "content": "A dog."}
FIX_ORDER = "put one <IMG_CONTEXT> in a user turn's text per image_url part"


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        # one image_url part, two markers: xtuner runs out of images (IndexError)
        (_xtuner_record([_url(), _text("<IMG_CONTEXT>\n<IMG_CONTEXT>\nSame?")], ANSWER),
         [("image-count", "number of images (1) does not match number of <IMG_CONTEXT> markers (2): xtuner "
           "replaces the k-th marker with the k-th image", "$.messages", "2", "1")]),
        # two images, one marker: xtuner's `assert current_image_idx == num_image`
        (_xtuner_record([_url(), _url(), _text("<IMG_CONTEXT>\nSame?")], ANSWER),
         [("image-count", "number of images (2) does not match number of <IMG_CONTEXT> markers (1): xtuner "
           "replaces the k-th marker with the k-th image", "$.messages", "1", "2")]),
        # a marker and no image at all
        (_xtuner_record([_text("<IMG_CONTEXT>\nWhat is it?")], ANSWER),
         [("image-count", "number of images (0) does not match number of <IMG_CONTEXT> markers (1): xtuner "
           "replaces the k-th marker with the k-th image", "$.messages", "1", "0")]),
        # a marker in the answer stays text in xtuner (and the image has no marker)
        (_xtuner_record([_url(), _text("What is it?")], {"role": "assistant", "content": "<IMG_CONTEXT> a dog"}),
         [("image-marker", "<IMG_CONTEXT> in a system or assistant turn stays text in xtuner (it replaces "
           "markers in user turns' text parts only)", "$.messages[1].content", "no <IMG_CONTEXT> there",
           "1 marker(s)"),
          ("image-count", "number of images (1) does not match number of <IMG_CONTEXT> markers (0): xtuner "
           "replaces the k-th marker with the k-th image", "$.messages", "0", "1")]),
        # a marker in a user turn's string content: xtuner replaces markers in text parts only
        (_xtuner_record([_url(), _text("<IMG_CONTEXT>\nWhat is it?")], ANSWER,
                        {"role": "user", "content": "<IMG_CONTEXT> and this?"}, ANSWER),
         [("image-marker", "<IMG_CONTEXT> in a user turn's string content stays text in xtuner (it replaces "
           "markers in user turns' text parts only)", "$.messages[2].content", "no <IMG_CONTEXT> there",
           "1 marker(s)")]),
        # markers next to the newer {"type": "image"} parts: xtuner places those at the part, marker as text
        (_xtuner_record([{"type": "image", "image": {"url": "resource/mscoco_dog_000000319154.jpg"}},
                         _text("<IMG_CONTEXT>\nWhat is it?")], ANSWER),
         [("image-marker", "<IMG_CONTEXT> markers place image_url parts (xtuner), not 'image' parts",
           "$.messages[0].content[0].type", "'image_url'", "'image'")]),
        # TRL-style image parts with an images list, and a marker
        (_xtuner_record([{"type": "image"}, _text("<IMG_CONTEXT>\nWhat is it?")], ANSWER,
                        images=["resource/mscoco_dog_000000319154.jpg"]),
         [("image-marker", "<IMG_CONTEXT> markers place image_url parts (xtuner), not 'image' parts",
           "$.messages[0].content[0].type", "'image_url'", "'image'"),
          ("image-marker", "<IMG_CONTEXT> markers place the record's image_url parts, not an images list",
           "$.images", "images given as image_url parts", "1 listed image(s)")]),
        # an image_url part in the answer: xtuner collects images from user turns only
        (_xtuner_record([_url(), _text("<IMG_CONTEXT>\nWhat is it?")],
                        {"role": "assistant", "content": [_url(), _text("A dog.")]}),
         [("image-marker", "xtuner takes image_url parts from user turns only: this image would be lost",
           "$.messages[1].content[0]", "an image_url part in a user turn", "one in a 'assistant' turn"),
          ("image-count", "number of images (2) does not match number of <IMG_CONTEXT> markers (1): xtuner "
           "replaces the k-th marker with the k-th image", "$.messages", "1", "2")]),
    ],
)  # fmt: skip
def test_xtuner_records_it_would_refuse_are_refused_with_its_reason(tmp_path, record, expected):
    problems = refusal(tmp_path, [record])
    assert [(p["code"], p["message"], p["path"], p["expected"], p["found"]) for p in problems] == expected
    assert {p["record"] for p in problems} == {0}


def test_xtuner_refusal_names_file_record_path_and_fix(tmp_path):
    src = tmp_path / "case"
    shutil.copytree(REAL / "xtuner", src)
    good = (REAL / "xtuner/resource/mllm_sft_single_image_example_data.jsonl").read_text().splitlines()[0]
    bad = _xtuner_record([_url(), _url(), _text("<IMG_CONTEXT>\nSame?")], ANSWER)
    path = src / "mixed.jsonl"
    path.write_text(good + "\n" + json.dumps(bad) + "\n")
    result = run("convert", path, "--to", "oai", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert f"{path}:2 record 1 $.messages" in result.output
    assert "expected 1, found 2" in result.output
    assert FIX_ORDER in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("resource/mllm_sft_single_image_example_data.jsonl", "resource/mllm_sft_single_image_example_data_new.jsonl"),
        ("resource/mllm_sft_multi_image_example_data.jsonl", "resource/mllm_sft_multi_image_example_data_new.jsonl"),
    ],
)  # fmt: skip
def test_xtuner_old_and_new_layouts_give_the_same_images_at_the_same_places(tmp_path, old, new):
    """xtuner wrote each `_new` file from the old one with `.dev_scripts/convert_old_to_new_vlm_format.py`
    (image_url -> image parts, markers and the newline after them deleted, images moved first): read
    through the markers, the old file gives the new file's records but for those newlines."""

    def cleaned(records):  # the converter's text clean-up: a marker line goes, the text is left-stripped
        return [
            (i, [(role, [p if p.startswith("@") else p.lstrip("\n") for p in parts if p != "\n"])
                 for role, parts in turns])
            for i, turns in records
        ]  # fmt: skip

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert cleaned(read(tmp_path / "a", "xtuner", old)) == read(tmp_path / "b", "xtuner", new)
