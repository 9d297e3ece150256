"""Benchmark: decode + process one video, our route vs transformers' own `load_video`, same frames out.

    python bench/video_decode.py [--durations 10 60] [--repeats 3] [--out bench/results/video_decode.json]

Writes H.264 test videos (30 fps, 1280x720 by default, a keyframe every 2 s, as phones write them) of
each duration, then for each runs, each time in a fresh process (so peak RSS is the route's own):
  ours:          the collator's route (encoding/video.py load_video): header only (vlmdata.videos.probe),
                 the frame indices from the video processor's own sample_frames on it, only those frames
                 decoded by seeking per group of pictures, each resized by the processor's own resize as
                 it is decoded, then the video processor with do_sample_frames and do_resize off
  transformers:  transformers.video_utils.load_video(backend="pyav") with the same processor's
                 sample_frames as sample_indices_fn (it decodes the stream from the start and keeps the
                 sampled frames), then the video processor with do_sample_frames off
The video processor is Qwen3-VL-8B-Instruct's (Qwen3VLVideoProcessor, 2 fps, 4-768 frames, 4096..25165824
pixels over the frames). Both routes must give the same pixel_values_videos (sha256 compared).
qwen-vl-utils' fetch_video is not measured here (not installed in this environment).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def video_processor():
    from transformers import Qwen3VLVideoProcessor

    from vlmtrain.encoding.video import configure

    vp = Qwen3VLVideoProcessor(
        size={"longest_edge": 25165824, "shortest_edge": 4096}, image_mean=[0.5] * 3, image_std=[0.5] * 3
    )
    configure(vp, None)
    return vp


def route(name: str, path: str) -> dict:
    import hashlib

    from vlmtrain.encoding.video import _NOT_SAMPLING, RESIZED, load_video
    from vlmtrain.families import resolve_family

    vp = video_processor()
    start = time.perf_counter()
    extra = {}
    if name == "ours":  # the collator's route: each sampled frame resized as it is decoded
        frames, plan = load_video({"bytes": None, "path": path}, resolve_family("qwen3_vl").video, vp, path)
        meta, extra = plan.metadata(), RESIZED
    else:
        from transformers.video_utils import load_video

        kwargs = {k: getattr(vp, k, None) for k in vp.valid_kwargs.__annotations__ if k not in _NOT_SAMPLING}

        def sample(metadata, **_):
            return vp.sample_frames(metadata=metadata, **kwargs)

        frames, meta = load_video(path, backend="pyav", sample_indices_fn=sample)
    out = vp(videos=[frames], video_metadata=[meta], do_sample_frames=False, return_tensors="pt",
             **extra.get("videos_kwargs", {}))  # fmt: skip
    seconds = time.perf_counter() - start
    pixels = out["pixel_values_videos"].numpy().tobytes()
    return {
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "frames": int(frames.shape[0]),
        "grid_thw": out["video_grid_thw"][0].tolist(),
        "sha256": hashlib.sha256(pixels).hexdigest(),
    }


def write_video(path: Path, seconds: float, width: int, height: int) -> Path:
    """A moving colour pattern (cheap to encode, decoded at full cost), a keyframe every 2 s."""
    import av
    import numpy as np

    rate = Fraction(30)
    y, x = np.mgrid[0:height, 0:width]
    with av.open(str(path), "w", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.options = {"preset": "ultrafast"}
        s.codec_context.gop_size = 60
        for i in range(int(seconds * 30)):
            image = np.stack([(x + 3 * i) % 256, (y + i) % 256, (x + y + 5 * i) % 256], -1).astype(np.uint8)
            for packet in s.encode(av.VideoFrame.from_ndarray(image, "rgb24")):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--durations", type=float, nargs="+", default=[10, 60])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, nargs=2, default=[1280, 720], metavar=("W", "H"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "video_decode.json"))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(route(*args.child)))
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for duration in args.durations:
            path = write_video(Path(tmp) / f"v{int(duration)}.mp4", duration, *args.size)
            row = {"duration_s": duration, "file_mb": round(path.stat().st_size / 2**20, 2)}
            for name in ("ours", "transformers"):
                runs = []
                for _ in range(args.repeats):
                    res = subprocess.run(
                        [sys.executable, __file__, "--child", name, str(path)],
                        capture_output=True, text=True, env=env, check=True,
                    )  # fmt: skip
                    runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
                row[name] = {
                    "median_s": round(statistics.median(r["seconds"] for r in runs), 3),
                    "samples_per_s": round(1 / statistics.median(r["seconds"] for r in runs), 2),
                    "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1),
                    "frames": runs[0]["frames"],
                    "grid_thw": runs[0]["grid_thw"],
                    "sha256": runs[0]["sha256"],
                }
            row["same_output"] = row["ours"]["sha256"] == row["transformers"]["sha256"]
            results.append(row)
            print(json.dumps(row))
    report = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load_1min": os.getloadavg()[0]},
        "video": f"H.264 30 fps {args.size[0]}x{args.size[1]} moving pattern, keyframe every 60 frames",
        "repeats": args.repeats,
        "processor": "Qwen3VLVideoProcessor as Qwen3-VL-8B-Instruct configures it (2 fps)",
        "results": results,
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
