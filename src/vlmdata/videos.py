"""Videos, in one place: what a video's container header says, read with PyAV without decoding the stream.

    probe("clips/a.mp4")
      -> VideoHeader(duration=5.0, frames=150, fps=30.0, variable=False, width=224, height=224,
                     rotation=0, codec="h264")
    probe(memoryview(parquet_bytes), full=True)     # decodes every frame (validate --check-videos)
    inspect("clips/a.mp4", max_pixels=DEFAULT_MAX_VIDEO_PIXELS)
      -> None, or (code, message, expected, found, fix) as images.inspect gives them

The header read opens the container, reads the video stream's parameters and sample index (MP4/MOV keep
it in the `moov` box; nothing else of the file is read), then decodes the first frame only: the rotation
a phone video declares (its display matrix) reaches PyAV on decoded frames, not on the stream. What the
header leaves out is derived: the duration from the container when the stream has none, the frame count
from duration x rate when the container does not store it (Matroska, WebM). A video whose duration or
frame count cannot be derived is refused, as are audio-only files, zero-frame tracks and frames over the
pixel limit (checked before any frame is decoded). A truncated file is found without decoding when the
sample index points past the end of the data; `full=True` decodes every frame and also finds a file
whose data stops early or is damaged.

Bytes (videos embedded in Parquet) are read through a file object over the buffer: only the parts
FFmpeg asks for are copied, never the whole video. PyAV (`av`, FFmpeg inside its wheel) is the [video]
extra; `available()` says whether it is installed.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

# A frame over DCI 4K (4096x2160) is refused: 8K phone and camera videos are where training runs out of
# memory. Raise it with --max-video-pixels.
DEFAULT_MAX_VIDEO_PIXELS = 4096 * 2160
INSTALL_HINT = "pip install 'vlmkit[video]'"

Finding = tuple[str, str, str, str, str | None]  # (code, message, expected, found, fix)


class VideoError(ValueError):
    """A video no command may pass on: the finding as validate reports it."""

    def __init__(self, code: str, message: str, expected: str, found: str, fix: str | None = None):
        super().__init__(message)
        self.finding: Finding = (code, message, expected, found, fix)


@dataclass(frozen=True)
class VideoHeader:
    duration: float  # seconds
    frames: int
    fps: float  # average frames per second
    variable: bool  # variable frame rate: the frames are not evenly spaced in time
    width: int  # as displayed: after the rotation the container declares
    height: int
    rotation: int  # degrees counter-clockwise, from the display matrix (0 when none)
    codec: str

    def to_dict(self) -> dict:
        return asdict(self)


def available() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


class _Buffer:
    """A read-only, seekable file over bytes or a memoryview; read() copies only what is asked for."""

    def __init__(self, data):
        self.view = memoryview(data).cast("B")
        self.pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self.view) if n is None or n < 0 else min(len(self.view), self.pos + n)
        out = bytes(self.view[self.pos : end])
        self.pos = max(self.pos, end)
        return out

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self.pos, len(self.view))[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos


def probe(source, max_pixels: int | None = DEFAULT_MAX_VIDEO_PIXELS, full: bool = False) -> VideoHeader:
    """The header of one video (a file path, bytes or a memoryview); VideoError when it is refused.
    ImportError when PyAV is not installed."""
    import av

    if isinstance(source, str):
        try:
            size = os.path.getsize(source)
        except OSError as exc:
            raise VideoError(
                "video-missing", f"cannot read video: {exc.strerror}", "a readable file", source
            ) from None
        opened = source
    else:
        opened = _Buffer(source)
        size = len(opened.view)
    try:
        container = av.open(opened, "r")
    except (av.FFmpegError, OSError) as exc:
        raise VideoError(
            "video-corrupt",
            f"not a readable video: {_reason(exc)}",
            "a video file FFmpeg can open",
            "unreadable data",
            "re-download or re-encode the video (a file cut short loses its index)",
        ) from None
    try:
        return _header(container, size, max_pixels, full)
    except av.FFmpegError as exc:
        raise VideoError(
            "video-corrupt",
            f"video data is damaged: {_reason(exc)}",
            "a decodable video",
            "damaged data",
            "re-encode the video",
        ) from None
    finally:
        container.close()


def inspect(source, max_pixels: int | None = DEFAULT_MAX_VIDEO_PIXELS, full: bool = False) -> Finding | None:
    """Check one video as validate and convert do: None when it is fine."""
    try:
        probe(source, max_pixels, full)
    except VideoError as exc:
        return exc.finding
    return None


def _reason(exc) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _video_stream(container):
    """The first video stream that is not a cover picture (MP3 and M4A files carry those as 'video')."""
    import av

    for s in container.streams.video:
        if not s.disposition & av.stream.Disposition.attached_pic:
            return s
    kinds = sorted({s.type for s in container.streams})
    raise VideoError(
        "video-no-stream",
        f"no video stream: the file holds {'only ' + ' and '.join(kinds) if kinds else 'no streams'}",
        "a video stream",
        ", ".join(s.type for s in container.streams) or "no streams",
        "list the file under audios, or give the video it belongs to",
    )


def _header(container, size: int, max_pixels: int | None, full: bool) -> VideoHeader:
    s = _video_stream(container)
    width, height = s.codec_context.width, s.codec_context.height
    if max_pixels is not None and width * height > max_pixels:  # before anything is decoded
        pixels = width * height
        raise VideoError(
            "video-too-large",
            f"video frame has {pixels:,} pixels ({width}x{height}), over the limit",
            f"at most {max_pixels:,} pixels per frame",
            f"{pixels:,} pixels",
            "downscale the video (e.g. ffmpeg -vf scale=-2:1080) or raise --max-video-pixels",
        )
    entries = list(s.index_entries)
    end = max((e.pos + e.size for e in entries), default=0)
    if end > size:
        raise VideoError(
            "video-truncated",
            f"video file is truncated: its index points to byte {end:,} of a {size:,}-byte file",
            f"at least {end:,} bytes",
            f"{size:,} bytes",
            "re-download or re-encode the video",
        )
    stored = s.frames  # 0 when the container does not store it
    duration = float(s.duration * s.time_base) if s.duration and s.time_base else 0.0
    if not duration and container.duration:
        duration = container.duration / 1_000_000  # AV_TIME_BASE
    rate = s.average_rate or s.guessed_rate
    if not duration and stored and rate:
        duration = float(stored / rate)
    frames = stored or (round(duration * rate) if duration and rate else 0)
    if not frames and not entries:
        raise VideoError(
            "video-no-frames", "video stream has no frames", "at least one frame", "0 frames", None
        )
    if not duration or not frames:
        raise VideoError(
            "video-duration",
            "video duration is unknown and cannot be derived from the stream or the container",
            "a duration or a frame count with a frame rate",
            f"duration {duration or 'unknown'}, {frames or 'unknown'} frames, rate {rate or 'unknown'}",
            "remux the video (ffmpeg -i in.mp4 -c copy out.mp4) so its header carries the duration",
        )
    fps = float(rate) if rate else frames / duration
    decoded, rotation = _decode(container, s, full)
    if decoded == 0:
        raise VideoError(
            "video-no-frames", "no frame of the video stream decodes", "at least one frame", "0 frames", None
        )
    if full and stored and decoded < stored:
        raise VideoError(
            "video-truncated",
            f"video data ends after {decoded:,} of {stored:,} frames",
            f"{stored:,} frames",
            f"{decoded:,} frames",
            "re-download or re-encode the video",
        )
    if rotation % 180:
        width, height = height, width
    return VideoHeader(
        round(duration, 6), frames, round(fps, 6), _variable(entries, frames, s), width, height, rotation,
        s.codec_context.name,
    )  # fmt: skip


def _decode(container, s, full: bool) -> tuple[int, int]:
    """(frames decoded, rotation of the first): the first frame only, or every frame with full=True."""
    import av

    decoded, rotation = 0, 0
    try:
        for frame in container.decode(s):
            if decoded == 0:
                rotation = int(frame.rotation) % 360
            decoded += 1
            if not full:
                break
    except av.FFmpegError as exc:
        raise VideoError(
            "video-corrupt",
            f"video data is damaged after {decoded:,} decoded frame(s): {_reason(exc)}",
            "a decodable video",
            "damaged data",
            "re-encode the video",
        ) from None
    return decoded, rotation


def _variable(entries, frames: int, s) -> bool:
    """Variable frame rate: from the sample times when the index lists every frame (MP4/MOV), else from
    the stream's average rate against its base rate (the rate every timestamp fits)."""
    if len(entries) == frames and frames > 2:
        times = sorted(e.timestamp for e in entries)
        steps = [b - a for a, b in zip(times, times[1:], strict=False)]
        spread = max(steps) - min(steps)
        return spread > max(1, 0.01 * sum(steps) / len(steps))  # 1-tick rounding is not variable
    average, base = s.average_rate, s.base_rate
    return bool(average and base and abs(float(average) / float(base) - 1) > 0.01)


def even_frames(source, count: int = 8, max_side: int = 512) -> tuple[VideoHeader, list]:
    """(header, [(seconds, PIL image), ...]): up to `count` frames spaced evenly from the first frame to
    the last, each found by a seek to the keyframe before it (never a decode of the whole file), turned
    as the container says and scaled to fit max_side. A preview (vlmdata view), not a model's sampling.

        even_frames("clip.mp4", 4) -> (VideoHeader(duration=5.0, frames=150, ...),
                                       [(0.0, <PIL 224x224>), (1.633, ...), (3.3, ...), (4.967, ...)])
    """
    import av

    header = probe(source, max_pixels=None)
    n = max(1, min(count, header.frames))
    last = max(0.0, header.duration - 1 / header.fps)
    targets = [last * i / (n - 1) if n > 1 else 0.0 for i in range(n)]
    out = []
    with av.open(source if isinstance(source, str) else _Buffer(source)) as container:
        s = _video_stream(container)
        start = s.start_time or 0
        for t in targets:
            container.seek(start + int(t / s.time_base), stream=s, backward=True)
            frame = None
            for frame in container.decode(s):
                if frame.time is None or frame.time >= t - 0.5 / header.fps:
                    break
            if frame is None:
                break
            image = frame.to_image()
            if header.rotation:
                image = image.rotate(header.rotation, expand=True)  # counter-clockwise, as declared
            image.thumbnail((max_side, max_side))
            out.append((round(frame.time or 0.0, 3), image))
    return header, out
