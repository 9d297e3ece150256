"""Issue 20 item 1 and 5 (data side): videos are read by their container header (vlmdata.videos), and
validate and convert refuse a bad video with its record, JSON path and reason, exit 1, nothing written.

The videos are written by PyAV in a session fixture (video_helpers.make_videos: 32x32, a few frames),
plus LLaMA-Factory's real demo MP4 (fixtures/real_data/lf-mllm-video-audio-demo, with its ORIGIN).
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from data_helpers import record, write_canonical
from video_helpers import lf_dataset, write_video
from vlmdata import videos
from vlmdata.cli import cli
from vlmdata.videos import VideoHeader, probe


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


# -- the header ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("plain", VideoHeader(0.1001, 3, 29.97003, False, 32, 32, 0, "h264")),
        # frames at 0, 10, 50, 60, 200 and 210 ms; the last lasts 1/29.97 s
        ("vfr", VideoHeader(0.243375, 6, 24.653313, True, 32, 32, 0, "h264")),
        # encoded 48x32, declared rotated by 90 degrees: shown (and sampled) as 32x48
        ("rotated", VideoHeader(0.1001, 3, 29.97003, False, 32, 48, 90, "h264")),
        ("one_frame", VideoHeader(0.033367, 1, 29.97003, False, 32, 32, 0, "h264")),
        # WebM stores no frame count: derived from the container's duration and the rate
        ("webm", VideoHeader(0.1, 3, 30.0, False, 32, 32, 0, "vp9")),
        ("real", VideoHeader(5.0, 150, 30.0, False, 224, 224, 0, "h264")),
    ],
)
def test_header_of_each_video(vids, name, header):
    assert probe(str(vids[name])) == header
    assert probe(vids[name].read_bytes()) == header  # from memory (Parquet bytes)
    assert probe(memoryview(vids[name].read_bytes()), full=True) == header


def test_full_decode_finds_damage_the_header_read_does_not(vids):
    assert videos.inspect(str(vids["damaged"])) is None
    code, message, *_ = videos.inspect(str(vids["damaged"]), full=True)
    assert (code, message) == (
        "video-corrupt",
        "video data is damaged after 5 decoded frame(s): Invalid data found when processing input",
    )


def test_bytes_are_read_without_copying_the_whole_video(tmp_path, monkeypatch):
    """Only the parts FFmpeg asks for are copied out of the buffer (header, index, first frame)."""
    data = write_video(tmp_path / "noise.mp4", frames=60, size=(64, 64)).read_bytes()  # about 0.7 MB
    copied = []
    read = videos._Buffer.read

    def counting(self, n=-1):
        out = read(self, n)
        copied.append(len(out))
        return out

    monkeypatch.setattr(videos._Buffer, "read", counting)
    assert probe(memoryview(data)).frames == 60
    assert 0 < sum(copied) < len(data) / 4


# -- validate and convert refuse bad videos ----------------------------------------------------------

REFUSED = [
    ("audio_only", "video-no-stream", "no video stream: the file holds only audio"),
    ("real_mp3", "video-corrupt", "not a video file (unknown container)"),
    ("zero_frames", "video-no-frames", "video stream has no frames"),
    (
        "cut",
        "video-truncated",
        "video file is truncated: its index points to byte {end} of a {size}-byte file",
    ),
    ("cut_head", "video-corrupt", "not a readable video: Invalid data found when processing input"),
    ("not_video", "video-corrupt", "not a video file (unknown container)"),
    ("huge", "video-too-large", "video frame has 33,177,600 pixels (7680x4320), over the limit"),
    ("../outside.mp4", "video-outside", "video path escapes the dataset folder"),
    ("videos/missing.mp4", "video-missing", "video file does not exist"),
]


@pytest.mark.parametrize(("name", "code", "message"), REFUSED)
def test_validate_and_convert_refuse_a_bad_video(tmp_path, vids, name, code, message):
    if name == "cut":
        size = vids["cut"].stat().st_size
        message = message.format(end=f"{size + 100:,}", size=f"{size:,}")
    src = lf_dataset(tmp_path / "ds", ["plain", name, "real"], vids)
    result = run("validate", src, "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert [(p["code"], p["message"], p["record"], p["path"]) for p in report["problems"]] == [
        (code, message, 1, "$.videos[0]")
    ]
    assert report["bad_records"] == 1 and report["records"] == 3
    text = run("validate", src)
    assert text.exit_code == 1 and f"record 1 $.videos[0]: {message}" in " ".join(text.output.split())
    for to in ("parquet", "sharegpt"):
        out = tmp_path / f"out-{to}"
        conv = run("convert", src, "--to", to, "--out", out)
        assert conv.exit_code == 1
        assert message in conv.output and "Traceback" not in conv.output
        assert not out.exists()


def test_good_videos_pass_and_are_counted(tmp_path, vids):
    src = lf_dataset(tmp_path / "ds", ["plain", "vfr", "rotated", "one_frame", "webm", "real"], vids)
    result = run("validate", src, "--check-videos")
    assert result.exit_code == 0, result.output
    assert "valid: 6 record(s) in 1 file(s), 0 image(s), 6 video(s) checked" in result.output
    out = tmp_path / "lf"
    assert run("convert", src, "--to", "sharegpt", "--out", out, "-q").exit_code == 0
    assert run("validate", out).exit_code == 0


def test_check_videos_decodes_every_frame(tmp_path, vids):
    src = lf_dataset(tmp_path / "ds", ["damaged"], vids)
    assert run("validate", src).exit_code == 0
    result = run("validate", src, "--check-videos", "--json")
    assert result.exit_code == 1
    (p,) = json.loads(result.output)["problems"]
    assert (p["code"], p["path"]) == ("video-corrupt", "$.videos[0]")
    conv = run("convert", src, "--to", "parquet", "--out", tmp_path / "out", "--check-videos")
    assert conv.exit_code == 1 and "video data is damaged after 5 decoded frame(s)" in conv.output
    assert not (tmp_path / "out").exists()


def test_max_video_pixels(tmp_path, vids):
    src = lf_dataset(tmp_path / "ds", ["rotated"], vids)
    result = run("validate", src, "--max-video-pixels", "1535", "--json")
    assert result.exit_code == 1
    (p,) = json.loads(result.output)["problems"]
    assert (p["code"], p["message"], p["expected"]) == (
        "video-too-large",
        "video frame has 1,536 pixels (48x32), over the limit",
        "at most 1,535 pixels per frame",
    )
    assert run("validate", src, "--max-video-pixels", "1536").exit_code == 0
    assert run("validate", src, "--max-video-pixels", "0").exit_code == 2


def test_without_pyav_validate_says_so(tmp_path, vids, monkeypatch):
    """No silence: the videos are counted, listed as not opened, with the install command."""
    monkeypatch.setattr(videos, "available", lambda: False)
    src = lf_dataset(tmp_path / "ds", ["plain", "huge"], vids)
    result = run("validate", src, "--json")
    assert result.exit_code == 0
    assert json.loads(result.output)["skipped"] == [
        "2 video file(s) not opened (only the container type was checked): PyAV is not installed; "
        "pip install 'vlmkit[video]' to check their duration, frames and size"
    ]
    assert "pip install 'vlmkit[video]'" in run("validate", src).output
    assert run("validate", lf_dataset(tmp_path / "bad", ["not_video"], vids)).exit_code == 1


# -- Parquet shards holding videos ---------------------------------------------------------------------


def _video_record(i: int, data: bytes) -> dict:
    from vlmdata.record import make_record, media_part, text_part

    messages = [
        {"role": "user", "content": [media_part("video"), text_part(f"clip {i}?")]},
        {"role": "assistant", "content": [text_part("a square")]},
    ]
    return make_record(f"v{i}", messages, [], "t", videos=[{"bytes": data, "path": f"v{i}.mp4"}])


def test_a_row_with_a_video_is_a_row_group_alone(tmp_path, vids):
    """Reading one sample reads one row group: it must hold no other sample's video."""
    data = vids["real"].read_bytes()
    recs = [record("i0"), record("i1"), _video_record(0, data), _video_record(1, data), record("i2")]
    write_canonical(tmp_path / "shards", recs)
    (shard,) = (tmp_path / "shards").glob("*.parquet")
    meta = pq.ParquetFile(shard).metadata
    assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [2, 1, 1, 1]
    groups = [pq.ParquetFile(shard).read_row_group(g, columns=["id", "videos"]) for g in range(4)]
    assert [[(r["id"], len(r["videos"])) for r in g.to_pylist()] for g in groups] == [
        [("i0", 0), ("i1", 0)],
        [("v0", 1)],
        [("v1", 1)],
        [("i2", 0)],
    ]
    # the same through convert's Arrow path (canonical shards in, canonical shards out)
    out = tmp_path / "copy"
    assert run("convert", tmp_path / "shards", "--to", "parquet", "--out", out, "-q").exit_code == 0
    (copy,) = out.glob("*.parquet")
    meta = pq.ParquetFile(copy).metadata
    assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [2, 1, 1, 1]


def test_parquet_video_bytes_are_checked_from_memory(tmp_path, vids):
    good, cut = vids["real"].read_bytes(), vids["cut"].read_bytes()
    write_canonical(tmp_path / "ok", [_video_record(0, good), record("i0")])
    result = run("validate", tmp_path / "ok")
    assert result.exit_code == 0, result.output
    assert "1 video(s) checked" in result.output
    write_canonical(tmp_path / "bad", [_video_record(0, good), _video_record(1, cut)])
    result = run("validate", tmp_path / "bad", "--json")
    assert result.exit_code == 1
    (p,) = json.loads(result.output)["problems"]
    assert (p["code"], p["record"], p["path"]) == ("video-truncated", 1, "$.videos[0]")
    conv = run("convert", tmp_path / "bad", "--to", "oai", "--out", tmp_path / "out")
    assert conv.exit_code == 1 and "video file is truncated" in conv.output
    assert not (tmp_path / "out").exists()


def test_lf_video_dataset_into_parquet_keeps_videos_apart(tmp_path, vids):
    src = lf_dataset(tmp_path / "ds", ["plain", "vfr", "real"], vids)
    out = tmp_path / "pq"
    assert run("convert", src, "--to", "parquet", "--out", out, "-q").exit_code == 0
    (shard,) = out.glob("*.parquet")
    meta = pq.ParquetFile(shard).metadata
    assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [1, 1, 1]
    assert pq.read_table(shard, columns=["videos"]).column(0).to_pylist()[2][0]["bytes"] == (
        vids["real"].read_bytes()
    )


# -- info ----------------------------------------------------------------------------------------------


def test_info_reports_video_durations_rates_sizes_and_codecs(tmp_path, vids):
    src = lf_dataset(tmp_path / "ds", ["plain", "vfr", "rotated", "webm", "real", "audio_only"], vids)
    result = run("info", src, "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    video = stats["video"]
    assert stats["videos"] == 6
    assert video["codecs"] == {"h264": 4, "unreadable": 1, "vp9": 1}
    assert (video["variable_fps"], video["unreadable"]) == (1, 1)
    assert (video["duration"]["min"], video["duration"]["max"]) == (0.1, 5.0)
    assert (video["fps"]["min"], video["fps"]["max"]) == (24.653, 30.0)
    assert (video["width"]["max"], video["height"]["max"]) == (224, 224)
    # the rotated video counts as shown, 32x48 (encoded 48x32)
    assert (video["width"]["mean"], video["height"]["mean"]) == ((4 * 32 + 224) / 5, (3 * 32 + 48 + 224) / 5)
    assert video["bytes"] == sum(vids[n].stat().st_size for n in ("plain", "vfr", "rotated", "webm", "real",
                                                                  "audio_only"))  # fmt: skip
    text = run("info", src)
    assert "videos: 6" in text.output and "codecs: h264: 4, unreadable: 1, vp9: 1" in text.output
    # canonical shards: the same statistics from the stored bytes
    out = tmp_path / "pq"
    src_ok = lf_dataset(tmp_path / "ok", ["plain", "vfr", "rotated", "webm", "real"], vids)
    assert run("convert", src_ok, "--to", "parquet", "--out", out, "-q").exit_code == 0
    again = json.loads(run("info", out, "--json").output)["video"]
    assert again["codecs"] == {"h264": 4, "vp9": 1} and again["fps"] == {
        **again["fps"],
        "min": 24.653,
        "max": 30.0,
    }


def test_a_video_link_out_of_the_dataset_is_refused(tmp_path, vids):
    src = lf_dataset(tmp_path / "ds", ["plain"], vids)
    (tmp_path / "ds" / "videos" / "link.mp4").symlink_to(vids["real"])  # a file outside the folder
    lines = (tmp_path / "ds" / "data.jsonl").read_text().replace("videos/plain.mp4", "videos/link.mp4")
    (tmp_path / "ds" / "data.jsonl").write_text(lines)
    result = run("validate", src, "--json")
    assert result.exit_code == 1
    (p,) = json.loads(result.output)["problems"]
    assert (p["code"], p["message"], p["fix"]) == (
        "video-outside",
        "video file is a link that leads out of the dataset folder",
        "copy the video into the dataset folder",
    )


def test_parallel_validation_counts_videos_as_one_process_does(tmp_path, vids):
    """Forked workers (large JSONL files) check videos too, and their counts come back to the report."""
    import subprocess
    import sys

    src = lf_dataset(tmp_path / "ds", ["plain", "vfr", "audio_only", "real"] * 5, vids)
    serial = json.loads(run("validate", src, "--json").output)
    script = (
        "import json, sys\n"
        "from vlmdata.validate import parallel, validate\n"
        "parallel.MIN_BYTES = 0\n"
        "parallel.jobs_available = lambda: 2\n"
        "calls = []\n"
        "real = parallel.validate_spans\n"
        "parallel.validate_spans = lambda *a: calls.append(a) or real(*a)\n"
        "report = validate(sys.argv[1]).to_dict()\n"
        "print(json.dumps({'calls': len(calls), 'report': report}, default=str))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, src], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["calls"] == 1
    for key in ("problems", "records", "bad_records", "videos", "counts"):
        assert result["report"][key] == serial[key], key
    assert (serial["videos"], serial["counts"]) == (20, {"video-no-stream": 5})
