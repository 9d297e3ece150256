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

import base64
import hashlib
import json
import re
import shutil

import pytest
from click.testing import CliRunner

from data_helpers import FIXTURES
from vlmdata.cli import cli

REAL = FIXTURES / "real_data"
DOG, CATS = "@mscoco_dog_000000319154.jpg", "@mscoco_twocat_000000039769.jpg"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def case(tmp_path, folder: str):
    """The case folder copied (the fixtures stay unchanged)."""
    src = tmp_path / "case"
    shutil.copytree(REAL / folder, src)
    return src


def read(tmp_path, folder: str, path: str, media_dir: str | None = ".", src=None) -> list[tuple]:
    """The case's records as the reader gives them: [(id, [(role, [part, ...]), ...]), ...]
    (`src`: a case folder already copied and added to)."""
    src = src or case(tmp_path, folder)
    media = ["--media-dir", src / media_dir] if media_dir is not None else []
    out = tmp_path / "oai"
    result = run("convert", src / path, "--to", "oai", "--out", out, *media)
    assert result.exit_code == 0, result.output
    names = {hashlib.sha256(f.read_bytes()).hexdigest(): f.name for f in src.rglob("*") if f.is_file()}
    records = []
    lines = [line for split in sorted(out.glob("*.jsonl")) for line in split.read_text().splitlines()]
    for line in lines:  # every split, by name
        rec = json.loads(line)
        media = {kind: iter(rec.get(f"{kind}s", [])) for kind in ("image", "video", "audio")}
        turns = []
        for m in rec["messages"]:
            parts = []
            for p in m["content"]:
                if p["type"] == "text":
                    parts.append(p["text"])
                else:
                    data = (out / next(media[p["type"]])).read_bytes()
                    parts.append("@" + names[hashlib.sha256(data).hexdigest()])
            turns.append((m["role"], parts))
        assert all(next(left, None) is None for left in media.values())
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


# ---- LLaMA-Factory ----------------------------------------------------------------------------------
# src/llamafactory/data/converter.py (SharegptDatasetConverter: a first turn with the system tag is the
# system prompt; `_find_medias` joins each path to `media_dir`, the dataset folder) and mm_plugin.py
# (`_validate_messages`: one marker per item over prompt + response; `process_messages` replaces each
# marker in place, in order). Modelled here on the raw records and compared with every record read.


def lf_sharegpt_model(raw: dict) -> list[tuple]:
    pools = {k: iter(raw.get(f"{k}s") or []) for k in ("image", "video", "audio")}
    turns = []
    for m in raw["messages"]:
        if m["role"] == "system":
            turns.append(("system", [m["content"]]))
            continue
        parts = []
        for piece in re.split(r"(<image>|<video>|<audio>)", m["content"]):
            if piece in ("<image>", "<video>", "<audio>"):
                parts.append("@" + next(pools[piece[1:-1]]).split("/")[-1])
            elif piece:
                parts.append(piece)
        turns.append((m["role"], parts))
    assert all(next(p, None) is None for p in pools.values())  # LF: as many markers as media
    return turns


@pytest.mark.parametrize(
    ("folder", "path"),
    [
        ("lf-mllm-demo", "mllm_demo.json"),
        ("lf-mllm-video-audio-demo", "mllm_video_audio_demo.json"),
        ("lf-mllm-audio-demo", "mllm_audio_demo.json"),
    ],
)
def test_llamafactory_sharegpt_records_are_its_converters(tmp_path, folder, path):
    raws = json.loads((REAL / folder / path).read_text())
    records = read(tmp_path, folder, path, media_dir=None)  # LF's media_dir: the file's own folder
    assert [turns for _, turns in records] == [lf_sharegpt_model(r) for r in raws]


def test_llamafactory_mllm_demo_exact(tmp_path):
    records = read(tmp_path, "lf-mllm-demo", "mllm_demo.json", media_dir=None)
    assert records[0] == (
        "mllm_demo-000000",
        [("user", ["@1.jpg", "Who are they?"]), ("assistant", ["They're Kane and Gretzka from Bayern Munich."]),
         ("user", ["What are they doing?", "@1.jpg"]), ("assistant", ["They are celebrating on the soccer field."])],
    )  # fmt: skip
    assert records[3][1][2] == ("user", ["他们在做什么？", "@1.jpg"])


def test_llamafactory_v1_typed_blocks_are_its_demo_records(tmp_path):
    """LLaMA-Factory v1 (src/llamafactory/v1/core/rendering/format.py): `image_url` blocks with a `value`
    path (relative to the repository root, here the case folder) rendered in their place. Its demo
    repeats mllm_demo.json's six conversations four times."""
    v1 = read(tmp_path / "v1", "lf-v1-multimodal-demo", "data/v1_multimodal_demo.jsonl")
    demo = read(tmp_path / "demo", "lf-mllm-demo", "mllm_demo.json", media_dir=None)
    assert len(v1) == 24
    assert [turns for _, turns in v1] == [turns for _, turns in demo] * 4


def test_llamafactory_v1_video_and_audio_blocks(tmp_path):
    src = case(tmp_path, "lf-mllm-video-audio-demo")
    raw = json.loads((src / "mllm_video_audio_demo.json").read_text())[0]
    v1 = {
        "messages": [
            {"role": "user", "content": [{"type": "video_url", "value": raw["videos"][0]},
                                         {"type": "audio_url", "value": raw["audios"][0]},
                                         {"type": "text", "value": "What is the video describing?"}]},
            {"role": "assistant", "content": [{"type": "text", "value": raw["messages"][1]["content"]}]},
        ]
    }  # fmt: skip
    (src / "v1.jsonl").write_text(json.dumps(v1) + "\n")
    records = read(tmp_path, "", "v1.jsonl", media_dir=None, src=src)
    assert records == [
        ("v1-000000", [("user", ["@4.mp4", "@4.mp3", "What is the video describing?"]),
                       ("assistant", ["A girl who is drawing a picture of a guitar and feel nervous."])]),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("where", "path"),
    [("column", "$.system"), ("turn", "$.messages[0].content")],
)
def test_llamafactory_marker_in_the_system_prompt_is_refused(tmp_path, where, path):
    raw = json.loads((REAL / "lf-mllm-demo" / "mllm_demo.json").read_text())[1]
    if where == "column":
        raw["system"] = "<image>Answer briefly."
    else:
        raw["messages"].insert(0, {"role": "system", "content": "<image>Answer briefly."})
    raw["images"] = raw["images"] * 2
    src = tmp_path / "case"
    shutil.copytree(REAL / "lf-mllm-demo", src)
    (src / "mllm_demo.json").write_text(json.dumps([raw]))
    result = run("validate", src / "mllm_demo.json", "--json")
    assert result.exit_code == 1
    problems = [(p["code"], p["message"], p["path"], p["expected"], p["found"])
                for p in json.loads(result.output)["problems"]]  # fmt: skip
    assert problems == [
        ("image-marker", "<image> in the system prompt stays text in LLaMA-Factory (it places media in the "
         "turns only)", path, "no media marker in the system prompt", "<image>"),
        ("image-count", "number of images (2) does not match number of <image> placeholders (1)", "$.images",
         "1", "2"),
    ]  # fmt: skip
    conv = run("convert", src / "mllm_demo.json", "--to", "oai", "--out", tmp_path / "out")
    assert conv.exit_code == 1 and "stays text in LLaMA-Factory" in conv.output
    assert not (tmp_path / "out").exists()


def test_llamafactory_parquet_parts_stand_where_they_are(tmp_path):
    """mllm_example_dataset (HuggingFaceH4/llava-instruct-mix-vsft layout, read as TRL reads it:
    `prepare_multimodal_messages` fills the k-th `{"type": "image"}` part with images[k] in place)."""
    records = read(tmp_path, "lf-mllm-example-parquet", "data/mllm_example_dataset/data")
    assert len(records) == 6
    assert records[0] == (
        "test-0-000000",
        [("user", ["Who are they?", "@1.jpg"]), ("assistant", ["They're Kane and Gretzka from Bayern Munich."]),
         ("user", ["What are they doing?"]), ("assistant", ["They are celebrating on the soccer field"])],
    )  # fmt: skip
    assert [turns for _, turns in records[:3]] == [turns for _, turns in records[3:]]  # test = train


# ---- oumi -------------------------------------------------------------------------------------------
# src/oumi/core/types/conversation.py (ContentItem: `text` with `content`; `image_url`/`image_path` with
# `content`; `image_binary` with base64 `binary`) and src/oumi/utils/conversation_utils.py (images loaded
# from a URL, a path, or the bytes, in their place among the items). Its example file names example.com
# URLs (refused: tests/test_real_data.py); here the same records point at a local image instead.


@pytest.mark.parametrize("kind", ["image_path", "image_binary", "image_url"])
def test_oumi_image_items_stand_where_they_are(tmp_path, kind):
    src = case(tmp_path, "oumi-vl-conversation")
    dog = REAL / "xtuner" / "resource" / "mscoco_dog_000000319154.jpg"
    shutil.copy(dog, src / "dog.jpg")
    lines = []
    for line in (src / "vision_language_oumi_format.jsonl").read_text().splitlines():
        raw = json.loads(line)
        for m in raw["messages"]:
            for item in m["content"] if isinstance(m["content"], list) else []:
                if item["type"] == "image_url":
                    item["type"] = kind
                    if kind == "image_binary":
                        item["binary"] = base64.b64encode(dog.read_bytes()).decode()
                        del item["content"]
                    else:
                        item["content"] = "dog.jpg"
        lines.append(json.dumps(raw))
    (src / "local.jsonl").write_text("\n".join(lines) + "\n")
    records = read(tmp_path, "", "local.jsonl", media_dir=None, src=src)
    assert [turns for _, turns in records] == [
        [("user", ["@dog.jpg", "What breed is this dog?"]), ("assistant", ["This appears to be a Shih Tzu puppy."])],
        [("system", ["You are a helpful AI assistant with knowledge about architecture."]),
         ("user", ["@dog.jpg", "What is shown in the image?"]),
         ("assistant", ["The image shows the Golden Gate Bridge which is an iconic suspension bridge in San "
                        "Francisco."]),
         ("user", ["And where is San Francisco?"]), ("assistant", ["In California, USA!"])],
    ]  # fmt: skip


def test_oumi_image_binary_without_bytes_is_refused(tmp_path):
    record = {"messages": [{"role": "user", "content": [{"type": "image_binary"}, {"type": "text", "content": "Hi"}]},
                           {"role": "assistant", "content": "Hello."}]}  # fmt: skip
    src = case(tmp_path, "oumi-vl-conversation")
    (src / "bad.jsonl").write_text(json.dumps(record) + "\n")
    result = run("convert", src / "bad.jsonl", "--to", "oai", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "record 0 $.images: number of images (0) does not match number of image parts (1)" in result.output
    assert not (tmp_path / "out").exists()


# ---- TRL --------------------------------------------------------------------------------------------
# trl/data_utils.py `prepare_multimodal_messages` and trl/trainer/sft_trainer.py
# (DataCollatorForVisionLanguageModeling): a single `image` column is read as `images: [image]`; the k-th
# `{"type": "image"}` part gets images[k], in place; placeholders and images must be as many.


def test_trl_single_image_column(tmp_path):
    src = case(tmp_path, "xtuner")
    record = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "What is it?"}, {"type": "image"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "A dog."}]},
        ],
        "image": "resource/mscoco_dog_000000319154.jpg",
    }
    (src / "trl.jsonl").write_text(json.dumps(record) + "\n")
    assert read(tmp_path, "", "trl.jsonl", src=src) == [
        ("trl-000000", [("user", ["What is it?", DOG]), ("assistant", ["A dog."])])
    ]
    record["messages"][0]["content"].append({"type": "image"})
    (src / "trl.jsonl").write_text(json.dumps(record) + "\n")
    result = run("validate", src / "trl.jsonl", "--json")
    assert result.exit_code == 1
    [p] = json.loads(result.output)["problems"]
    assert (p["code"], p["message"], p["path"], p["expected"], p["found"]) == (
        "image-count", "number of images (1) does not match number of image parts (2)", "$.image", "2", "1",
    )  # fmt: skip


# ---- Qwen-VL ----------------------------------------------------------------------------------------
# qwen-vl-finetune/qwenvl/data/data_processor.py `_build_messages`: `image` (a path or a list) joined to
# the dataset's `data_path`; a human turn is split at <image>/<video>, each text piece stripped and
# blank pieces dropped; any other speaker is the assistant, its text kept whole; too many or too few
# markers raise ValueError.


def qwen_model(raw: dict) -> list[tuple]:
    images = raw.get("image") or []
    pool = iter([images] if isinstance(images, str) else images)
    turns = []
    for turn in raw["conversations"]:
        if turn["from"] != "human":
            turns.append(("assistant", [turn["value"]]))
            continue
        parts = []
        for seg in re.split(r"(<image>|<video>)", turn["value"]):
            if seg == "<image>":
                parts.append("@" + next(pool).split("/")[-1])
            elif seg.strip():
                parts.append(seg.strip())
        turns.append(("user", parts))
    assert next(pool, None) is None
    return turns


def _media(turns):
    return [p for _, parts in turns for p in parts if p.startswith("@")]


def test_qwen_vl_images_in_order_from_data_path(tmp_path):
    raws = json.loads((REAL / "qwen3vl-single-images" / "demo" / "single_images.json").read_text())
    records = read(tmp_path, "qwen3vl-single-images", "demo/single_images.json")
    assert [_media(turns) for _, turns in records] == [_media(qwen_model(r)) for r in raws]
    assert [[role for role, _ in turns] for _, turns in records] == [
        [role for role, _ in qwen_model(r)] for r in raws
    ]


@pytest.mark.xfail(
    strict=True,
    reason="Qwen-VL strips the text around each <image> of a human turn ('...2015?\\n<image>' trains "
    "'...2015?'); the llava reader keeps the newline (LLaMA-Factory's in-place reading of the same "
    "layout): the layout alone does not say which project reads it (open item, issue 19 item 6)",
)
def test_qwen_vl_text_pieces_are_stripped_as_qwen_reads_them(tmp_path):
    raws = json.loads((REAL / "qwen3vl-single-images" / "demo" / "single_images.json").read_text())
    records = read(tmp_path, "qwen3vl-single-images", "demo/single_images.json")
    assert [turns for _, turns in records] == [qwen_model(r) for r in raws]
