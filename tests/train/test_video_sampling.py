"""Videos sampled as the family's own video processor samples them: the frame indices and resized size from
the container header alone (encoding/video.py), only those frames decoded, and the processor's outputs
then equal to the real video processor fed the whole decoded video."""

from __future__ import annotations

import shutil
from fractions import Fraction

import numpy as np
import pytest

from video_helpers import NTSC, REAL_MP4, write_video
from vlmtrain.families.glm4v.tokens import VIDEO as GLM_VIDEO

pytest.importorskip("av")
pytest.importorskip("torchvision")

# (name, frames, size, rate, rotation, gop): frame rates 10, 24, 29.97 and 60, one rotated phone video.
CLIPS = [
    ("r10", 25, (48, 32), 10, None, 4),
    ("r24", 30, (32, 32), 24, None, 7),
    ("ntsc", 45, (64, 36), NTSC, None, 12),
    ("r60", 130, (32, 48), 60, None, 25),
    ("rotated", 20, (48, 32), 24, 90, 5),
    ("short", 3, (32, 32), NTSC, None, None),
]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    out = {}
    for name, frames, size, rate, rotation, gop in CLIPS:
        rate = rate if isinstance(rate, Fraction) else Fraction(rate)
        out[name] = write_video(folder / f"{name}.mp4", frames, size, rate, rotation, gop=gop, seed=len(out))
    # variable frame rate: frames at uneven times (the header's average rate is what the processor reads)
    times = [0, 40, 60, 150, 170, 300, 310, 420, 500, 520, 700, 760]
    out["vfr"] = write_video(folder / "vfr.mp4", len(times), (32, 32), Fraction(25), times_ms=times, seed=9)
    out["real"] = folder / "real.mp4"
    shutil.copyfile(REAL_MP4, out["real"])
    return out


def _full_decode(path, rotation: int):
    """Every frame, as a user would hand the whole video to the processor (turned as declared)."""
    import av

    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]
    k = (rotation // 90) % 4
    return np.stack([np.rot90(f, k) for f in frames]) if k else np.stack(frames)


def _video_processors():
    from transformers import (
        Gemma4VideoProcessor,
        Glm4vVideoProcessor,
        InternVLVideoProcessor,
        LlavaOnevisionVideoProcessor,
        Qwen2VLVideoProcessor,
        Qwen3VLVideoProcessor,
        SmolVLMVideoProcessor,
    )

    from vlmtrain.families.gemma4 import tiny as g4_tiny
    from vlmtrain.families.glm4v import tiny as glm_tiny
    from vlmtrain.families.internvl import tiny as ivl_tiny
    from vlmtrain.families.llava_onevision import tiny as lo_tiny
    from vlmtrain.families.qwen2_vl import tiny as q2_tiny
    from vlmtrain.families.qwen3_vl import tiny as q3_tiny
    from vlmtrain.families.smolvlm import tiny as smol_tiny

    def from_config(cls, config):
        config = {k: v for k, v in config.items() if k != "video_processor_type"}
        return cls(**config)

    return {
        # the tiny models' configs (what the family tests train with)
        "qwen2_vl-tiny": (
            "qwen2_vl",
            lambda: from_config(Qwen2VLVideoProcessor, q2_tiny.video_processor_config()),
        ),
        "qwen3_vl-tiny": (
            "qwen3_vl",
            lambda: from_config(Qwen3VLVideoProcessor, q3_tiny.video_processor_config()),
        ),
        "glm4v-tiny": ("glm4v", lambda: from_config(Glm4vVideoProcessor, glm_tiny.video_processor_config())),
        # transformers' GLM-4V defaults (2 fps, 300 s at most, 12544..9633792 pixels over the frames)
        "glm4v-defaults": ("glm4v", lambda: Glm4vVideoProcessor()),
        # as the real checkpoints configure them: Qwen2-VL-7B-Instruct ships preprocessor_config.json only
        # (min/max pixels 3136/12845056); Qwen3-VL-8B-Instruct's video_preprocessor_config.json
        "qwen2_vl-real": ("qwen2_vl", lambda: Qwen2VLVideoProcessor(min_pixels=3136, max_pixels=12845056)),
        "qwen3_vl-real": (
            "qwen3_vl",
            lambda: Qwen3VLVideoProcessor(
                size={"longest_edge": 25165824, "shortest_edge": 4096},
                image_mean=[0.5] * 3,
                image_std=[0.5] * 3,
            ),
        ),
        "llava_onevision-tiny": (
            "llava_onevision",
            lambda: from_config(LlavaOnevisionVideoProcessor, lo_tiny.video_processor_config()),
        ),
        # llava-hf/llava-onevision-qwen2-*-ov-hf: the 384 x 384 tile, bicubic, mean/std 0.5 of its
        # preprocessor_config.json (the video processor's class defaults otherwise: no frame sampling, so
        # `configure` samples at 2 fps)
        "llava_onevision-real": (
            "llava_onevision",
            lambda: LlavaOnevisionVideoProcessor(
                size={"height": 384, "width": 384}, resample=3, image_mean=[0.5] * 3, image_std=[0.5] * 3
            ),
        ),
        "smolvlm-tiny": (
            "smolvlm",
            lambda: from_config(SmolVLMVideoProcessor, smol_tiny.video_processor_config()),
        ),
        # SmolVLM2-256M-Video-Instruct's sampling and sizes (video_sampling 1 fps, at most 64 frames; frames
        # to a 2048 longest edge, then the 512 square; Lanczos; mean/std 0.5): values as recalled from its
        # preprocessor_config.json, not verified here (no copy of the file was found)
        "smolvlm-real": (
            "smolvlm",
            lambda: SmolVLMVideoProcessor(
                video_sampling={"fps": 1, "max_frames": 64, "video_size": {"longest_edge": 2048}},
                size={"longest_edge": 2048},
                max_image_size={"longest_edge": 512},
                resample=1,
                image_mean=[0.5] * 3,
                image_std=[0.5] * 3,
            ),  # fmt: skip
        ),
        "internvl-tiny": (
            "internvl",
            lambda: from_config(InternVLVideoProcessor, ivl_tiny.video_processor_config()),
        ),
        # OpenGVLab/InternVL3-1B-hf: the 448 x 448 tile, bicubic, ImageNet mean/std of its
        # preprocessor_config.json (real_processors.py `_internvl`); no video_preprocessor_config.json copy
        # was found, so the video processor's class defaults otherwise (initial_shift on, no frame sampling:
        # `configure` samples at 2 fps)
        "internvl-real": (
            "internvl",
            lambda: InternVLVideoProcessor(
                size={"height": 448, "width": 448},
                resample=3,
                image_mean=[0.485, 0.456, 0.406],
                image_std=[0.229, 0.224, 0.225],
            ),
        ),
        "gemma4-tiny": (
            "gemma4",
            lambda: from_config(
                Gemma4VideoProcessor, g4_tiny.video_processor_config(num_frames=g4_tiny.TINY_FRAMES)
            ),
        ),
        # google/gemma-4-E2B-it / 31B-it: the "video_processor" section of processor_config.json as public
        # re-implementations' fixtures quote it (patch 16, pooling 3, max_soft_tokens 70, num_frames 32,
        # bicubic, rescale 1/255, mean 0 / std 1): the class defaults; not read from the Hub file itself
        "gemma4-real": (
            "gemma4",
            lambda: Gemma4VideoProcessor(
                patch_size=16,
                pooling_kernel_size=3,
                max_soft_tokens=70,
                num_frames=32,
                resample=3,
                image_mean=[0.0, 0.0, 0.0],
                image_std=[1.0, 1.0, 1.0],
            ),  # fmt: skip
        ),
        # a run's own settings: 4 fps, at most 6 frames, 32*32*4 pixels per frame, the reference cap
        "qwen2_vl-capped": (
            "qwen2_vl",
            lambda: Qwen2VLVideoProcessor(min_pixels=28 * 28, max_pixels=12845056, cap_pixels_per_frame=True),
        ),
    }


PROCESSORS = list(_video_processors())


@pytest.mark.parametrize("which", PROCESSORS)
@pytest.mark.parametrize("clip", [c[0] for c in CLIPS] + ["vfr", "real"])
def test_sampled_frames_equal_the_real_processor_on_the_whole_video(clips, which, clip):
    import torch

    from vlmtrain.encoding.video import (
        VideoSettings,
        configure,
        decode_frames,
        load_video,
        plan_video,
        video_header,
    )
    from vlmtrain.families import resolve_family

    family_name, make = _video_processors()[which]
    rule = resolve_family(family_name).video or GLM_VIDEO  # GLM's rule, exact but not enabled (the model)
    vp = make()
    settings = (
        VideoSettings(fps=4.0, max_frames=6, max_pixels=32 * 32 * 4) if which.endswith("capped") else None
    )
    configure(vp, settings)
    header = video_header({"bytes": None, "path": str(clips[clip])})
    whole = _full_decode(clips[clip], header.rotation)
    assert len(whole) == header.frames
    meta = {"total_num_frames": header.frames, "fps": header.fps, "duration": header.duration}
    if family_name == "qwen3_vl" and header.frames < vp.temporal_patch_size:  # GLM repeats a lone frame
        with pytest.raises(ValueError, match="must be larger than temporal_factor"):
            vp(videos=[whole], video_metadata=[meta], return_tensors="pt", cap_pixels_per_frame=False)
        with pytest.raises(ValueError, match="must be larger than temporal_factor"):
            plan_video(rule, vp, header)
        return
    if family_name == "internvl" and int(header.frames / header.fps * vp.fps) == 0:  # under 1 / fps s
        with pytest.raises(ZeroDivisionError):  # its sampler divides by the frame count it computes
            vp(videos=[torch.from_numpy(whole)], video_metadata=[meta], return_tensors="pt")
        with pytest.raises(ValueError, match="samples no frame from this video"):
            plan_video(rule, vp, header)
        return
    if family_name == "gemma4" and header.frames < vp.num_frames:  # it samples a fixed number of frames
        with pytest.raises(ValueError, match="exceeds total_num_frames"):
            vp(videos=[torch.from_numpy(whole)], video_metadata=[meta], return_tensors="pt")
        with pytest.raises(ValueError, match="exceeds total_num_frames"):
            plan_video(rule, vp, header)
        return
    # as a tensor: a numpy video indexed by a one-element index tensor loses its frame axis in transformers'
    # sampling (`video[indices]`), so a video that samples one frame crashes the processor fed an array
    ref = vp(
        videos=[torch.from_numpy(whole)], video_metadata=[meta], return_tensors="pt", return_metadata=True
    )
    plan = plan_video(rule, vp, header)
    assert plan.indices == [int(i) for i in ref["video_metadata"][0].frames_indices]
    if "video_grid_thw" in ref:
        assert list(plan.grid_thw) == ref["video_grid_thw"][0].tolist()
    key = (
        "pixel_values_videos" if "pixel_values_videos" in ref else "pixel_values"
    )  # SmolVLM: frames as images
    if "num_soft_tokens_per_video" in ref:  # Gemma4: frames as patches (padded to the budget): the count
        pool = vp.pooling_kernel_size
        soft = (plan.height // vp.patch_size) * (plan.width // vp.patch_size) // pool**2
        assert [soft] == [int(n) for n in ref["num_soft_tokens_per_video"]]
    else:
        assert ref[key].shape[-2:] == (plan.height, plan.width) or "video_grid_thw" in ref
    frames = decode_frames(str(clips[clip]), header, plan.indices)
    np.testing.assert_array_equal(frames, whole[plan.indices])
    ours = vp(videos=[frames], video_metadata=[plan.metadata()], do_sample_frames=False, return_tensors="pt")
    if "video_grid_thw" in ref:
        assert ours["video_grid_thw"].tolist() == ref["video_grid_thw"].tolist()
    assert torch.equal(ours[key], ref[key])
    # the collator's route: each frame resized by the processor's own resize as it is decoded
    resized, _plan = load_video({"bytes": None, "path": str(clips[clip])}, rule, vp, "record 'x' $.videos[0]")
    assert resized.shape == (len(plan.indices), plan.height, plan.width, 3)
    ours = vp(videos=[resized], video_metadata=[plan.metadata()], do_sample_frames=False, do_resize=False,
              return_tensors="pt")  # fmt: skip
    assert torch.equal(ours[key], ref[key])


def test_decode_seeks_instead_of_decoding_the_whole_file(clips, monkeypatch):
    """Frames far apart in a video with short keyframe intervals are reached by seeking: fewer frames are
    decoded than the whole file holds."""
    import av

    from vlmtrain.encoding.video import decode_frames, video_header

    decoded = 0
    real_decode = av.container.InputContainer.decode

    def counting(self, *args, **kwargs):
        nonlocal decoded
        for frame in real_decode(self, *args, **kwargs):
            decoded += 1
            yield frame

    monkeypatch.setattr(av.container.InputContainer, "decode", counting)
    header = video_header({"bytes": None, "path": str(clips["r60"])})
    frames = decode_frames(str(clips["r60"]), header, [0, 60, 120])
    assert frames.shape == (3, 48, 32, 3)
    assert 3 <= decoded < 60  # three groups of 25 frames at most, never all 130
