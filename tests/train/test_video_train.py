"""Training on videos (Qwen2-VL, Qwen2.5-VL, Qwen3-VL): the collator's encoding equals the real processor
fed the whole decoded video, labels only on the assistant turns with every video token masked, `vlmtrain
check` counts video tokens from the header alone, packed rows give the unpacked loss, and a tiny model's
loss falls on a video dataset. Families without a video rule keep refusing video parts; audio stays refused."""

from __future__ import annotations

import json
import re
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from family_records import _msg, png_dict

from video_helpers import NTSC, REAL_MP4, write_video

pytest.importorskip("av")
pytest.importorskip("torchvision")

VIDEO_FAMILIES = [
    "qwen2_vl", "qwen2_5_vl", "qwen3_vl", "qwen3_5", "llava_onevision", "smolvlm", "internvl", "gemma4",
]  # fmt: skip
# families whose processor writes video frames and images to the same pixel_values: a record takes one
NO_MIXED = ["smolvlm"]
# SmolVLM's intro and timestamps tokenize with the text around them (the tiny tokenizer merges across
# them): a video's own token figure counts them tokenized alone
TEXT_IN_CONTEXT = ["smolvlm"]
# families whose processor takes a record's videos as one stacked tensor: every video in it keeps the same
# number of sampled frames; BATCH_SAME_FRAMES: the model stacks a batch's videos too (InternVL's processor
# puts the frames into pixel_values, which batches concatenate)
SAME_FRAMES = ["llava_onevision", "internvl"]
BATCH_SAME_FRAMES = ["llava_onevision"]
PACKABLE = ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"]  # Qwen3.5 refuses packing (linear attention)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    out = {
        "r10": write_video(folder / "r10.mp4", 25, (48, 32), Fraction(10), gop=4),
        "ntsc": write_video(folder / "ntsc.mp4", 45, (64, 36), NTSC, gop=12, seed=1),
        "r60": write_video(folder / "r60.mp4", 130, (32, 48), Fraction(60), gop=25, seed=2),
        "rotated": write_video(folder / "rotated.mp4", 20, (48, 32), Fraction(24), rotation=90, seed=3),
        "real": folder / "real.mp4",
    }
    shutil.copyfile(REAL_MP4, out["real"])
    return out


def _video_part():
    return {"type": "video", "text": None}


def video_record(rid, paths, with_image=False, answer="A square changes colour."):
    user = [_video_part() for _ in paths] + ([{"type": "image", "text": None}] if with_image else [])
    user.append({"type": "text", "text": "What happens in the clip?"})
    return {
        "id": rid,
        "messages": [{"role": "user", "content": user}, _msg("assistant", answer)],
        "images": [png_dict("red", 40)] if with_image else [],
        "videos": [{"bytes": None, "path": str(p)} for p in paths],
        "source": "test",
    }


def _frame_token_id(name, processor):
    """The token each frame's run repeats: GLM, SmolVLM and InternVL write video frames with their image token."""
    token = {"glm4v": "<|image|>", "smolvlm": processor.image_token, "internvl": processor.image_token}.get(
        name, processor.video_token
    )
    return processor.tokenizer.convert_tokens_to_ids(token)


def _whole(path):
    import av

    from vlmtrain.encoding.video import video_header

    header = video_header({"bytes": None, "path": str(path)})
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]
    k = header.rotation // 90
    frames = np.stack([np.rot90(f, k) for f in frames]) if k else np.stack(frames)
    return frames, {"total_num_frames": header.frames, "fps": header.fps, "duration": header.duration}


def _reference(family, processor, record):
    """The real processor on the collator's text, fed every frame of each video with its header metadata,
    sampling itself (do_sample_frames as `configure` set it)."""
    import torch

    text, _spans = family.assistant_spans(processor, record)
    wholes = [_whole(v["path"]) for v in record["videos"]]
    from vlmtrain.encoding.records import decode_images

    kwargs = {"images": decode_images(record["images"])} if record["images"] else {}
    # as tensors: a numpy video indexed by a one-element index tensor loses its frame axis in transformers'
    # sampling (`video[indices]`), so a video that samples one frame (InternVL at 2 fps, under 0.75 s)
    # crashes the processor fed arrays; fed tensors, it keeps the frame
    return processor(
        text=[text], videos=[torch.from_numpy(w) for w, _m in wholes], video_metadata=[m for _w, m in wholes],
        return_tensors="pt", add_special_tokens=False, **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize("name", VIDEO_FAMILIES)
@pytest.mark.parametrize("clip", ["r10", "ntsc", "r60", "rotated", "real"])
def test_encoding_equals_the_real_processor_on_the_whole_video(tiny_loaded, clips, name, clip):
    import torch

    family, processor, _model = tiny_loaded(name)
    record = video_record("v", [clips[clip]], with_image=clip == "ntsc" and name not in NO_MIXED)
    feat = family.encode_one(processor, record)
    ref = _reference(family, processor, record)
    assert feat["input_ids"].tolist() == ref["input_ids"].tolist()
    key = "pixel_values_videos" if "pixel_values_videos" in ref else "pixel_values"  # SmolVLM: as images
    assert torch.equal(feat[key], ref[key])
    for key in ("video_grid_thw", "pixel_attention_mask", "mm_token_type_ids", "second_per_grid_ts", "pixel_values", "image_grid_thw",
                "image_sizes"):  # fmt: skip
        if key in ref:
            assert torch.equal(torch.as_tensor(feat[key]), torch.as_tensor(ref[key])), key
    # labels: the assistant turn exactly; no video token (nor its delimiters, nor timestamps) trained
    tok = processor.tokenizer
    labels = feat["labels"][0].tolist()
    assert (
        # (SmolVLM's "Assistant:" is followed by " A": the space is the answer's first token's)
        tok.decode([t for t in labels if t != -100]).lstrip()
        == "A square changes colour." + family.tiny_end_of_turn
    )
    frame_id = _frame_token_id(name, processor)
    video = [i for i, t in enumerate(feat["input_ids"][0].tolist()) if t == frame_id]
    if "mm_token_type_ids" in feat:  # the processor's own account of its video tokens
        marked = [i for i, t in enumerate(feat["mm_token_type_ids"][0].tolist()) if t == 2]
        assert marked == video
        if "video_grid_thw" in feat:
            assert len(video) == int(feat["video_grid_thw"].prod(dim=-1).sum()) // 4
        else:  # Gemma4: each frame's soft tokens are its unpadded patches pooled
            patches = int((feat["video_position_ids"] != -1).all(dim=-1).sum())
            assert len(video) == patches // processor.video_processor.pooling_kernel_size**2
    assert video and all(labels[i] == -100 for i in video)


@pytest.mark.parametrize("name", VIDEO_FAMILIES)
def test_header_count_equals_the_real_processor(tiny_loaded, clips, name):
    """`vlmtrain check`'s count (headers and settings alone) equals the input_ids of the real processor
    fed the decoded videos; video tokens are reported apart from image and text tokens."""
    from vlmtrain.tokens.count import count_records

    family, processor, _model = tiny_loaded(name)
    second = clips["ntsc"] if name in SAME_FRAMES else clips["rotated"]
    records = [
        video_record("a", [clips["r10"]]),
        video_record("b", [clips["ntsc"], second], with_image=name not in NO_MIXED),
        video_record("c", [clips["real"]]),
        video_record("d", [clips["r60"]]),
    ]
    counts, problems = count_records(records, processor, family)
    assert problems == []
    video_id = _frame_token_id(name, processor)
    for rec, c in zip(records, counts, strict=True):
        ref = _reference(family, processor, rec)
        ids = ref["input_ids"][0].tolist()
        assert c.length == len(ids), rec["id"]
        assert len(c.video_tokens) == len(rec["videos"]) and len(c.image_tokens) == len(rec["images"])
        assert c.text_tokens == c.length - sum(c.image_tokens) - sum(c.video_tokens)
        assert c.image_end == len(ids) - ids[::-1].index(video_id) if rec["id"] != "b" else c.image_end > 0
        sampled = [
            processor.video_processor(videos=[w], video_metadata=[m], return_metadata=True)["video_metadata"][
                0
            ]
            for w, m in (_whole(v["path"]) for v in rec["videos"])
        ]
        assert c.video_frames == [len(m.frames_indices) for m in sampled]
    # a video's tokens: everything its placeholder becomes in the real processor's input_ids (Qwen3-VL's and
    # GLM's timestamps and per-frame delimiters included)
    text, _spans = family.assistant_spans(processor, records[0])
    plain = len(processor.tokenizer(text, add_special_tokens=False)["input_ids"])
    real = _reference(family, processor, records[0])
    if name in TEXT_IN_CONTEXT:  # the record's length is exact (above); the split is approximate
        assert counts[0].video_tokens[0] > real["input_ids"].shape[1] - plain - 20
    else:
        assert counts[0].video_tokens == [real["input_ids"].shape[1] - plain + 1]
    if "video_grid_thw" in real:
        grid = real["video_grid_thw"][0].tolist()
        framed = counts[0].video_tokens[0] > grid[0] * grid[1] * grid[2] // 4
        assert framed == (name not in ("qwen2_vl", "qwen2_5_vl"))


@pytest.mark.parametrize("name", ["qwen2_5_vl", "qwen3_vl"])
def test_prompt_encoding_takes_videos(tiny_loaded, clips, name):
    """`vlmtrain predict`'s prompt: the real processor's ids for the conversation up to the answer."""
    import torch

    family, processor, _model = tiny_loaded(name)
    record = video_record("p", [clips["ntsc"]])
    prompt = {**record, "messages": record["messages"][:1]}
    feat = family.encode_prompt(processor, prompt)
    text = family.render(processor, prompt["messages"], add_generation_prompt=True)
    whole, meta = _whole(clips["ntsc"])
    ref = processor(
        text=[text], videos=[whole], video_metadata=[meta], return_tensors="pt", add_special_tokens=False
    )
    assert feat["input_ids"].tolist() == ref["input_ids"].tolist()
    assert torch.equal(feat["pixel_values_videos"], ref["pixel_values_videos"])


def _shard(tmp_path, records):
    from data_helpers import write_canonical

    for r in records:
        r["videos"] = [
            {"bytes": Path(v["path"]).read_bytes(), "path": v["path"].rsplit("/", 1)[-1]} for v in r["videos"]
        ]
        r["images"] = []
    return write_canonical(tmp_path / "data", records)


def _config(tmp_path, model, data, **extra):
    cfg = {
        "model_name_or_path": str(model),
        "data_dir": str(data),
        "output_dir": str(tmp_path / "out"),
        **extra,
    }
    path = tmp_path / "run.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in cfg.items()))
    return str(path)


def test_check_reports_video_tokens_and_lists_over_long_samples(tmp_path, tiny_model, clips):
    from vlmtrain.cli import cli

    data = _shard(tmp_path, [video_record("short", [clips["r10"]]), video_record("long", [clips["r60"]] * 6)])
    res = CliRunner().invoke(
        cli, ["check", _config(tmp_path, tiny_model("qwen3_vl"), data, max_length=120), "--json"]
    )
    report = json.loads(res.output)["report"]
    # a video running past max_length is never cut: check lists it as it lists images cut (exit 1), and
    # the run drops and lists it
    assert res.exit_code == 1
    # transformers 5.24+ drops the template's outer vision start/end around each of the 6 videos (2 tokens
    # each; 11 of them before the last video's tokens end): the same record, 12 tokens shorter
    from vlmtrain.families import resolve_family
    from vlmtrain.families.qwen3_vl.tokens import dropped_around

    dropped = dropped_around(resolve_family("qwen3_vl").load_processor(tiny_model("qwen3_vl"))) != ("", "")
    assert [(r["id"], r["length"], r["image_end"]) for r in report["image_truncated"]["records"]] == [
        ("long", 187 - 12 * dropped, 145 - 11 * dropped)
    ]
    assert report["video_tokens"]["count"] == 7
    assert report["video_frames"]["min"] == 4
    assert report["over_max_length"]["count"] == 1
    assert report["over_max_length"]["records"][0]["id"] == "long"
    # the run's own settings reach the sampling: 10 frames a second, at most 6 (r10: 2.5 s -> 6)
    cfg = _config(tmp_path, tiny_model("qwen3_vl"), data, max_length=4000)
    res = CliRunner().invoke(cli, ["check", cfg, "--json", "video_fps=10", "video_max_frames=6"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)["report"]
    assert (report["video_frames"]["min"], report["video_frames"]["max"]) == (6, 6)


@pytest.mark.parametrize(
    "name, kind, message",
    [
        (
            "qwen3_vl",
            "audio",
            "audio parts are not supported yet by the qwen3_vl family (only text, image and video)",
        ),
        (
            "qwen2_vl",
            "audio",
            "audio parts are not supported yet by the qwen2_vl family (only text, image and video)",
        ),
        (
            "glm4v",
            "video",
            "video parts are not supported yet by the glm4v family (only text and image): transformers' "
            "Glm4vModel matches image features against video frames' tokens too",
        ),
        (
            "gemma4",
            "audio",
            "audio parts are not supported yet by the gemma4 family (only text, image and video)",
        ),
        (
            "qwen3_5",
            "audio",
            "audio parts are not supported yet by the qwen3_5 family (only text, image and video)",
        ),
        ("llava", "video", "video parts are not supported yet by the llava family (only text and image)"),
    ],
)
def test_parts_a_family_cannot_take_are_refused_with_the_reason(tiny_loaded, clips, name, kind, message):
    from vlmtrain.errors import VlmTrainError

    family, processor, _model = tiny_loaded(name)
    record = video_record("x", [clips["r10"]])
    if kind == "audio":
        record["messages"][0]["content"].insert(0, {"type": "audio", "text": None})
    with pytest.raises(VlmTrainError, match=re.escape(f"record 'x' $.messages[0].content[0]: {message}")):
        family.encode_one(processor, record)


def test_bad_videos_are_refused_naming_the_record(tiny_loaded, tmp_path, clips):
    from vlmtrain.errors import VlmTrainError
    from vlmtrain.tokens.count import count_records

    family, processor, _model = tiny_loaded("qwen3_vl")
    one = write_video(tmp_path / "one.mp4", frames=1)
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")
    for path, reason in ((one, "must be larger than temporal_factor"), (notes, "not a readable video")):
        record = video_record("bad", [path])
        with pytest.raises(
            VlmTrainError, match=rf"record 'bad' \$\.videos\[0\] \({re.escape(str(path))}\): .*{reason}"
        ):
            family.encode_one(processor, record)
        counts, problems = count_records([record], processor, family)
        assert counts == [] and problems[0].code == "video-rejected" and reason in problems[0].message
    missing = video_record("short", [clips["r10"]])
    missing["videos"] = []
    with pytest.raises(VlmTrainError, match=r"1 video part\(s\) in messages but 0 video\(s\)"):
        family.encode_one(processor, missing)


@pytest.mark.parametrize("name", PACKABLE)
def test_packed_rows_with_videos_give_the_unpacked_loss(tiny_model, clips, name):
    """M-RoPE ids from the model's own get_rope_index with video_grid_thw (and Qwen2.5-VL's
    second_per_grid_ts), per sample: the packed row's loss equals the padded batch's."""
    import torch

    from vlmtrain.families import resolve_family
    from vlmtrain.packing import PackedCollator

    path = tiny_model(name)
    family = resolve_family(path)
    processor = family.load_processor(path)
    torch.manual_seed(0)
    model = family.load_model(path).float()
    rows = [
        video_record("a", [clips["r10"]]),
        video_record("b", [clips["ntsc"]], with_image=True, answer="Noise, then more noise."),
        video_record("c", [clips["rotated"], clips["real"]], answer="Two clips."),
    ]
    feats = [family.encode_one(processor, r) for r in rows]
    total = sum(f["input_ids"].shape[1] for f in feats)
    packed = PackedCollator(processor, family, max_length=total, model_config=model.config)([rows])
    padded = family.collate(processor, feats)
    assert packed["position_ids"].shape == (4, 1, total)
    with torch.no_grad():
        loss_p = model(**packed, use_cache=False).loss.item()
        loss_u = model(**padded, use_cache=False).loss.item()
    assert abs(loss_p - loss_u) <= 1e-5 * abs(loss_u)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["qwen2_5_vl", "qwen3_vl", "llava_onevision", "smolvlm", "internvl", "gemma4"]
)
def test_tiny_model_trains_on_a_video_dataset(tmp_path, tiny_model, tiny_loaded, clips, name):
    """`vlmtrain run` on records mixing text, images and videos: the loss falls; a record whose video
    tokens run past max_length is dropped and listed before training, never cut."""
    from run_helpers import FAST, write_config

    from data_helpers import write_canonical
    from vlmtrain.cli import cli
    from vlmtrain.tokens.count import count_records

    records = [
        video_record("a", [clips["r10"]]),
        video_record("b", [clips["r10" if name in SAME_FRAMES else "ntsc"]], with_image=name not in NO_MIXED,
                     answer="Noise, then more noise."),
        video_record("long", [clips["r60"]] * (12 if name in SAME_FRAMES else 6)),  # fewer tokens a frame
    ]  # fmt: skip
    family, processor, _model = tiny_loaded(name)
    counts, _problems = count_records(records, processor, family)
    max_length = max(c.length for c in counts[:2])
    assert counts[2].length > max_length
    for r in records:
        r["videos"] = [
            {"bytes": Path(v["path"]).read_bytes(), "path": Path(v["path"]).name} for v in r["videos"]
        ]
    data = write_canonical(tmp_path / "data", records)
    out = tmp_path / "out"
    config = write_config(
        tmp_path / "run.yaml", model_name_or_path=str(tiny_model(name)), data_dir=str(data), output_dir=str(out),
        max_length=max_length, **{**FAST, "max_steps": 6},
    )  # fmt: skip
    result = CliRunner().invoke(cli, ["run", str(config)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "trainer_log.jsonl").read_text().splitlines()]
    loss = [r["loss"] for r in rows if "loss" in r]
    assert len(loss) == 6 and loss[-1] < loss[0] - 0.1, loss
    dropped = [json.loads(line) for line in (out / "dropped_overlength.jsonl").read_text().splitlines()]
    assert dropped == [
        {"split": "train", "index": 2, "id": "long", "tokens": counts[2].length, "max_length": max_length}
    ]


def test_fsdp_keepalive_row_only_for_batches_without_images_or_videos(tiny_loaded, clips):
    """A sharded run's batch with a video runs the vision tower already: no keep-alive image row is added;
    a text-only batch gets one (label-free)."""
    from vlmtrain.collator import VLMCollator

    family, processor, _model = tiny_loaded("qwen2_vl")
    collator = VLMCollator(processor, family, keep_vision=True)
    with_video = collator([video_record("v", [clips["r10"]])])
    assert with_video["input_ids"].shape[0] == 1 and "pixel_values" not in with_video
    text_only = video_record("t", [])
    assert collator([text_only])["input_ids"].shape[0] == 2


@pytest.mark.parametrize("name", SAME_FRAMES)
def test_videos_of_unequal_frame_counts_are_refused_where_the_model_stacks_them(tiny_loaded, clips, name):
    """LLaVA-OneVision and InternVL stack a record's videos (processor) into one tensor: a record whose
    videos sample different frame counts is refused by the collator and by `vlmtrain check` alike.
    LLaVA-OneVision's model stacks a batch's videos too: a batch mixing counts is refused naming the
    setting, never padded with frames; InternVL's batch concatenates the frames with the images' tiles."""
    from vlmtrain.errors import VlmTrainError
    from vlmtrain.tokens.count import count_records

    family, processor, _model = tiny_loaded(name)
    record = video_record("two", [clips["r10"], clips["ntsc"]])  # 5 and 3 frames at 2 fps
    with pytest.raises(VlmTrainError, match=r"record 'two': its videos sample \[5, 3\] frames"):
        family.encode_one(processor, record)
    counts, problems = count_records([record], processor, family)
    assert counts == [] and "its videos sample [5, 3] frames" in problems[0].message
    feats = [family.encode_one(processor, video_record(r, [clips[r]])) for r in ("r10", "ntsc")]
    if name not in BATCH_SAME_FRAMES:
        assert family.collate(processor, feats)["pixel_values"].shape[0] == 5 + 3
        return
    with pytest.raises(VlmTrainError, match=r"a batch holds videos of \[3, 5\] sampled frames"):
        family.collate(processor, feats)
    assert family.collate(processor, feats[:1] + feats[:1])["pixel_values_videos"].shape[:2] == (2, 5)


@pytest.mark.parametrize("name", NO_MIXED)
def test_records_mixing_images_and_videos_are_refused_where_the_processor_drops_the_images(
    tiny_loaded, clips, name
):
    """SmolVLM's processor writes a record's video frames over its images' pixel_values: such a record is
    refused by the collator and by `vlmtrain check` alike, naming it."""
    from vlmtrain.errors import VlmTrainError
    from vlmtrain.tokens.count import count_records

    family, processor, _model = tiny_loaded(name)
    record = video_record("mixed", [clips["r10"]], with_image=True)
    with pytest.raises(VlmTrainError, match=r"record 'mixed': holds images and videos"):
        family.encode_one(processor, record)
    counts, problems = count_records([record], processor, family)
    assert counts == [] and "holds images and videos" in problems[0].message


@pytest.mark.parametrize(
    "name, settings, setting",
    [
        ("internvl", {"max_frames": 4}, "video_max_frames"),
        ("gemma4", {"max_frames": 4}, "video_max_frames"),
        ("gemma4", {"min_frames": 2}, "video_min_frames"),
        ("gemma4", {"max_pixels": 64 * 64}, "video_max_pixels"),
    ],
)
def test_frame_bounds_are_refused_where_the_sampler_takes_none(tiny_model, clips, name, settings, setting):
    """InternVL's video processor samples by fps alone, Gemma 4's by a frame count or fps (and sizes frames
    by its soft-token budget): a run's video_max_frames (video_min_frames, video_max_pixels) would be
    ignored, so its videos are refused naming the setting (collator and `vlmtrain check` alike), never
    sampled otherwise."""
    from vlmtrain.encoding.video import VideoSettings
    from vlmtrain.errors import VlmTrainError
    from vlmtrain.families import resolve_family
    from vlmtrain.tokens.count import count_records

    path = tiny_model(name)
    family = resolve_family(path)
    processor = family.load_processor(path, video_settings=VideoSettings(**settings))
    record = video_record("capped", [clips["r10"]])
    with pytest.raises(VlmTrainError, match=rf"record 'capped'.*: {setting} is set, but the {name}"):
        family.encode_one(processor, record)
    counts, problems = count_records([record], processor, family)
    assert counts == [] and f"{setting} is set" in problems[0].message
