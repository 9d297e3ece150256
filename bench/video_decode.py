"""Benchmark: decode + process one video, our route vs transformers' own `load_video`, same frames out.

    python bench/video_decode.py [--durations 10 60] [--repeats 3] [--out bench/results/video_decode.json]

Writes H.264 test videos (30 fps, 96x72 noise, a keyframe every 2 s, as phones write them) of each
duration, then for each runs, each time in a fresh process (so peak RSS is the route's own):
  ours:          header only (vlmdata.videos.probe), the frame indices from the video processor's own
                 sample_frames on it (encoding/video.py plan_video), only those frames decoded by seeking
                 per group of pictures, then the video processor with do_sample_frames off
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

    from vlmtrain.encoding.video import _NOT_SAMPLING, decode_frames, plan_video, video_header
    from vlmtrain.families import resolve_family

    vp = video_processor()
    start = time.perf_counter()
    if name == "ours":
        header = video_header({"bytes": None, "path": path})
        plan = plan_video(resolve_family("qwen3_vl").video, vp, header)
        frames = decode_frames(path, header, plan.indices)
        meta = plan.metadata()
    else:
        from transformers.video_utils import load_video

        kwargs = {k: getattr(vp, k, None) for k in vp.valid_kwargs.__annotations__ if k not in _NOT_SAMPLING}

        def sample(metadata, **_):
            return vp.sample_frames(metadata=metadata, **kwargs)

        frames, meta = load_video(path, backend="pyav", sample_indices_fn=sample)
    out = vp(videos=[frames], video_metadata=[meta], do_sample_frames=False, return_tensors="pt")
    seconds = time.perf_counter() - start
    pixels = out["pixel_values_videos"].numpy().tobytes()
    return {
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "frames": int(frames.shape[0]),
        "grid_thw": out["video_grid_thw"][0].tolist(),
        "sha256": hashlib.sha256(pixels).hexdigest(),
    }


def write_video(path: Path, seconds: float) -> Path:
    import av
    import numpy as np

    rate = Fraction(30)
    with av.open(str(path), "w", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = 96, 72, "yuv420p"
        s.options = {"preset": "ultrafast"}
        s.codec_context.gop_size = 60
        rng = np.random.default_rng(0)
        for _ in range(int(seconds * 30)):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (72, 96, 3), np.uint8), "rgb24")
            for packet in s.encode(frame):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--durations", type=float, nargs="+", default=[10, 60])
    parser.add_argument("--repeats", type=int, default=3)
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
            path = write_video(Path(tmp) / f"v{int(duration)}.mp4", duration)
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
        "video": "H.264 30 fps 96x72 noise, keyframe every 60 frames",
        "processor": "Qwen3VLVideoProcessor as Qwen3-VL-8B-Instruct configures it (2 fps)",
        "results": results,
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
