"""Issue 10 item 3: files other projects wrote (fixtures/real_data/, byte for byte; ORIGIN.md says from
where) are read as their project reads them and round-trip through parquet, oai, sharegpt and llava
without loss, or are refused with the exact reason.

How each project reads its files (what the `media_dir` below stands for):
- LLaMA-Factory (`data/mllm_demo.json`, `mllm_video_audio_demo.json`, `mllm_audio_demo.json`): its sharegpt
  converter takes `images`/`videos`/`audios` columns, and `_validate_messages` (mm_plugin) requires one
  `<image>`/`<video>`/`<audio>` marker per item; relative paths resolve against `media_dir`, which defaults
  to the `data/` folder (`dataset_dir`) the files sit in. Absolute paths are opened as given.
- LLaMA-Factory v1 (`v1_multimodal_demo.jsonl`): typed parts `{"type": "image_url", "value": path}` with
  paths relative to the repository root (`data/mllm_demo_data/1.jpg`): the case folder stands for it.
- LLaMA-Factory's `mllm_example_dataset` (HF Parquet, llava-instruct-mix-vsft layout): parts `{index, text,
  type}`, `images` a datasets Image feature holding paths only; datasets opens them relative to the working
  directory (the repository root).
- Qwen3-VL (`qwen-vl-finetune/demo/*.json`): LLaVA's `image`/`video` keys, paths joined to the dataset's
  `data_path` (the `qwen-vl-finetune/` folder for the demo images, the videos folder for the video demo).
- xtuner (`tests/resource/*.jsonl`): OpenAI-style messages, `{"type": "image_url", "image_url": {"url"}}`
  with an `<IMG_CONTEXT>` marker where each image stands, or `{"type": "image", "image": {"url"}}` parts
  standing where the image does; paths relative to `tests/` (tests/test_real_data_loaders.py has the
  exact records).
"""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from data_helpers import FIXTURES, canonical
from vlmdata.cli import cli
from vlmdata.formats import OUTPUT_FORMATS

REAL = FIXTURES / "real_data"

# case -> (input inside the case folder, media_dir inside it or None, records, images, videos, audios)
READABLE = {
    "lf-mllm-demo": (".", None, 6, 8, 0, 0),
    "lf-mllm-video-audio-demo": (".", None, 3, 0, 3, 3),
    "lf-mllm-audio-demo": (".", None, 3, 0, 0, 3),
    "lf-v1-multimodal-demo": ("data/v1_multimodal_demo.jsonl", ".", 24, 32, 0, 0),
    "lf-llava-instruct-100": ("llava_instruct_100.json", "placeholder_images", 100, 100, 0, 0),
    "lf-mllm-example-parquet": ("data/mllm_example_dataset/data", ".", 6, 6, 0, 0),
    "qwen3vl-single-images": ("demo/single_images.json", ".", 3, 3, 0, 0),
    "xtuner-single": ("resource/mllm_sft_single_image_example_data.jsonl", ".", 22, 22, 0, 0),
    "xtuner-multi": ("resource/mllm_sft_multi_image_example_data.jsonl", ".", 11, 22, 0, 0),
    "xtuner-multi2": ("resource/mllm_sft_multi_image_example_data2.jsonl", ".", 10, 18, 0, 0),
    "xtuner-new": ("resource/mllm_sft_single_image_example_data_new.jsonl", ".", 22, 22, 0, 0),
    "xtuner-multi-new": ("resource/mllm_sft_multi_image_example_data_new.jsonl", ".", 11, 22, 0, 0),
}
FOLDER = {
    "xtuner-single": "xtuner",
    "xtuner-multi": "xtuner",
    "xtuner-multi2": "xtuner",
    "xtuner-new": "xtuner",
    "xtuner-multi-new": "xtuner",
}

# What a target cannot express, and the exact reason it gives (the record is refused, nothing written).
LOSSY = {
    (
        "lf-mllm-video-audio-demo",
        "llava",
    ): "$.audios: 1 audio(s) dropped with their parts (LLaVA has no audio)",
    ("lf-mllm-audio-demo", "llava"): "$.audios: 1 audio(s) dropped with their parts (LLaVA has no audio)",
}


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def case_copy(tmp_path, case):
    """The case folder copied (the fixtures stay unchanged), and its input and media_dir arguments."""
    src = tmp_path / "case"
    shutil.copytree(REAL / FOLDER.get(case, case), src)
    path, media_dir = READABLE[case][:2]
    return src, src / path, (["--media-dir", src / media_dir] if media_dir else [])


@pytest.mark.parametrize("case", list(READABLE))
def test_validate_reads_the_case_as_its_project_does(tmp_path, case):
    _, path, media = case_copy(tmp_path, case)
    result = run("validate", path, *media, "--json")
    report = json.loads(result.output)
    assert result.exit_code == 0, report["problems"][:3]
    records, images, videos, audios = READABLE[case][2:]
    assert (report["records"], report["images"]) == (records, images)
    recs = canonical(path, media_dir=media[1] if media else None)
    assert [sum(len(r[k]) for r in recs) for k in ("images", "videos", "audios")] == [images, videos, audios]


@pytest.mark.parametrize("to", OUTPUT_FORMATS)
@pytest.mark.parametrize("case", list(READABLE))
def test_round_trip_through_every_format_is_lossless_or_refused(tmp_path, case, to):
    """case -> FORMAT -> parquet gives the case's canonical records back: text, roles, and the bytes of
    every image, video and audio."""
    _, path, media = case_copy(tmp_path, case)
    out = tmp_path / to
    extra = ["--llava-image-list"] if to == "llava" else []  # several images per record: LLaVA's list form
    result = run("convert", path, "--to", to, "--out", out, *media, *extra)
    if (case, to) in LOSSY:
        assert result.exit_code == 1
        assert "cannot be expressed in llava without loss" in result.output
        assert LOSSY[case, to] in result.output
        assert not out.exists()
        return
    assert result.exit_code == 0, result.output
    back = tmp_path / "back"
    again = run("convert", out, "--to", "parquet", "--out", back)
    assert again.exit_code == 0, again.output
    assert canonical(back) == canonical(path, media_dir=media[1] if media else None)
    assert run("validate", out).exit_code == 0


def test_lf_video_audio_writes_lf_columns_and_markers(tmp_path):
    """LLaMA-Factory's converter reads `videos`/`audios` only when dataset_info.json's `columns` names them."""
    _, path, _ = case_copy(tmp_path, "lf-mllm-video-audio-demo")
    assert run("convert", path, "--to", "sharegpt", "--out", tmp_path / "lf").exit_code == 0
    info = json.loads((tmp_path / "lf" / "dataset_info.json").read_text())
    assert info["lf"]["columns"] == {
        "messages": "messages",
        "images": "images",
        "videos": "videos",
        "audios": "audios",
    }
    first = json.loads((tmp_path / "lf" / "train.json").read_text())[0]
    assert first["messages"][0]["content"] == "<video><audio>What is the video describing?"
    assert [p.split("/")[0] for p in first["videos"] + first["audios"]] == ["videos", "audios"]
    assert (tmp_path / "lf" / first["videos"][0]).read_bytes() == (
        path / "mllm_demo_data" / "4.mp4"
    ).read_bytes()


@pytest.mark.parametrize(
    ("case", "path", "media_dir", "code", "message", "count"),
    [
        # a user's ReID data: absolute paths on the author's machine
        ("lf-pr10131-reid-abs-paths", "mllm_reid_txt2img_one2many_2k_new_test_100.json", None, "image-missing",
         "absolute image path does not exist on this machine", 453),
        # Qwen3-VL's video demo: the mp4 files here are one-line placeholders, not videos
        ("qwen3vl-video", "demo/video.json", "demo/videos", "video-corrupt", "not a video file (unknown container)", 3),
        # oumi: {"type": "image_url", "content": URL}, placeholder URLs at example.com
        ("oumi-vl-conversation", "vision_language_oumi_format.jsonl", None, "image-url",
         "remote image URLs are not fetched", 2),
        # ms-swift's query/response/history layout is none of the formats
        ("swift-query-response-images", "multi_modal_2.jsonl", None, "format", "cannot tell the record format", 1),
    ],
)  # fmt: skip
def test_cases_that_cannot_be_read_are_refused_with_the_reason(
    tmp_path, case, path, media_dir, code, message, count
):
    src = tmp_path / "case"
    shutil.copytree(REAL / case, src)
    media = ["--media-dir", src / media_dir] if media_dir else []
    result = run("validate", src / path, *media, "--json")
    assert result.exit_code == 1
    problems = json.loads(result.output)["problems"]
    assert {(p["code"], p["message"]) for p in problems} == {(code, message)}
    assert len(problems) == count
    for to in OUTPUT_FORMATS:
        conv = run("convert", src / path, "--to", to, "--out", tmp_path / to, *media)
        assert conv.exit_code == 1
        assert message in conv.output and "Traceback" not in conv.output
        assert not (tmp_path / to).exists()
