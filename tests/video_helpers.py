"""Test videos written with PyAV: tiny (32x32, a few frames) so the whole set takes about a second.

    make_videos(folder) -> {"plain": folder/"plain.mp4", "vfr": ..., "rotated": ..., ...}

Each file stands for a case the video checks must refuse or read exactly (vlmdata.videos).
"""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

from data_helpers import FIXTURES

NTSC = Fraction(30000, 1001)  # 29.97 fps
REAL_MP4 = FIXTURES / "real_data" / "lf-mllm-video-audio-demo" / "mllm_demo_data" / "4.mp4"
REAL_MP3 = FIXTURES / "real_data" / "lf-mllm-video-audio-demo" / "mllm_demo_data" / "4.mp3"


def write_video(path: Path, frames=3, size=(32, 32), rate=NTSC, rotation=None, times_ms=None, codec="libx264",
                faststart=True, seed=0, gop=None) -> Path:  # fmt: skip
    """frames of noise (so that every frame costs bytes); times_ms: variable frame times, in ms; gop: frames
    between keyframes (the encoder's default otherwise)."""
    import av
    import numpy as np

    width, height = size
    options = {"movflags": "faststart"} if faststart and path.suffix == ".mp4" else {}
    with av.open(str(path), "w", options=options) as c:
        s = c.add_stream(codec, rate=rate)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            s.options = {"preset": "ultrafast"}
        if gop is not None:
            s.codec_context.gop_size = gop
        if rotation is not None:
            s.set_display_rotation(rotation)
        if times_ms is not None:
            s.codec_context.time_base = Fraction(1, 1000)
        rng = np.random.default_rng(seed)
        for i in range(frames):
            if width * height > 1 << 20:  # large: a blank frame, no conversion (cheap to encode)
                frame = av.VideoFrame(width, height, "yuv420p")
            else:
                frame = av.VideoFrame.from_ndarray(
                    rng.integers(0, 255, (height, width, 3), np.uint8), "rgb24"
                )
            if times_ms is not None:
                frame.pts, frame.time_base = times_ms[i], Fraction(1, 1000)
            for packet in s.encode(frame):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    return path


def write_audio_only(path: Path) -> Path:
    """An MP4 holding one AAC track and no video."""
    import av
    import numpy as np

    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=8000)
        for i in range(3):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 8000, i * 1024
            for packet in s.encode(frame):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    return path


def write_zero_frames(path: Path) -> Path:
    """An MP4 whose video track has no sample (a fragmented MP4 with no fragment)."""
    import av

    c = av.open(str(path), "w", options={"movflags": "frag_keyframe+empty_moov"})
    s = c.add_stream("libx264", rate=30)
    s.width = s.height = 32
    s.pix_fmt = "yuv420p"
    s.codec_context.open()
    c.start_encoding()
    c.close()
    return path


def make_videos(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    v = {
        "plain": write_video(folder / "plain.mp4"),  # 32x32, 0.1 s at 29.97 fps
        "vfr": write_video(folder / "vfr.mp4", frames=6, times_ms=[0, 10, 50, 60, 200, 210]),
        "rotated": write_video(folder / "rotated.mp4", size=(48, 32), rotation=90),
        "one_frame": write_video(folder / "one_frame.mp4", frames=1),
        "webm": write_video(folder / "clip.webm", codec="libvpx-vp9", rate=30),  # no frame count stored
        "ten": write_video(folder / "ten.mp4", frames=10),
        "huge": write_video(folder / "huge.mp4", frames=1, size=(7680, 4320)),  # 8K, one blank frame
        "audio_only": write_audio_only(folder / "audio_only.mp4"),
        "zero_frames": write_zero_frames(folder / "zero_frames.mp4"),
        "real": folder / "real.mp4",
        "real_mp3": folder / "real.mp3",
    }
    shutil.copyfile(REAL_MP4, v["real"])
    shutil.copyfile(REAL_MP3, v["real_mp3"])
    data = v["plain"].read_bytes()
    v["cut"] = folder / "cut.mp4"  # the index (moov, in front) stays; the last frame's bytes are gone
    v["cut"].write_bytes(data[:-100])
    moov_last = write_video(folder / "moov_last.mp4", faststart=False)
    v["cut_head"] = folder / "cut_head.mp4"  # cut before the index at the end: nothing to open
    v["cut_head"].write_bytes(moov_last.read_bytes()[: len(data) // 2])
    v["not_video"] = folder / "notes.mp4"
    v["not_video"].write_text("version https://git-lfs.github.com/spec/v1\n")
    v["damaged"] = folder / "damaged.mp4"  # frames 5-9 overwritten: only a full decode sees it
    v["damaged"].write_bytes(_damaged(v["ten"], 5))
    return v


def _damaged(path: Path, first: int) -> bytes:
    import av

    with av.open(str(path)) as c:
        entries = list(c.streams.video[0].index_entries)
    data = bytearray(path.read_bytes())
    for e in entries[first:]:
        data[e.pos : e.pos + e.size] = b"\xff" * e.size
    return bytes(data)


def lf_dataset(folder, names: list[str], vids) -> str:
    """A LLaMA-Factory sharegpt JSONL file, one record per video, the videos copied under videos/."""
    (folder / "videos").mkdir(parents=True, exist_ok=True)
    lines = []
    for i, name in enumerate(names):
        if name in vids:
            shutil.copyfile(vids[name], folder / "videos" / vids[name].name)
            path = f"videos/{vids[name].name}"
        else:
            path = name  # a path as the test gives it
        rec = {
            "messages": [
                {"role": "user", "content": f"<video>What happens in clip {i}?"},
                {"role": "assistant", "content": "A square changes colour."},
            ],
            "videos": [path],
        }
        lines.append(json.dumps(rec))
    (folder / "data.jsonl").write_text("\n".join(lines) + "\n")
    return str(folder / "data.jsonl")
