"""Video parts for the page: a poster frame and a strip of frames spaced evenly, with their times.

    strips = VideoStrips(ds)
    strips.info(pos, k)  -> {"header": {"duration": 5.0, "frames": 150, ...}, "frames": [{"i": 0, "time": 0.0},
                             {"i": 1, "time": 0.7}, ...], "note": NOTE}
    strips.frame(pos, k, i, 128) -> (b"\\xff\\xd8...", "image/jpeg")   # frame i of the strip; i=0 is the poster

A few frames found by seeking (vlmdata.videos.even_frames), never the whole video decoded; the last few
strips are kept. VideoUnavailable carries the reason a video cannot be shown (the page says it).
"""

from __future__ import annotations

import io

from vlmdata.view.cache import LRU

STRIP_FRAMES = 8
NOTE = (
    "Frames spaced evenly from the first to the last: a preview. The frames a model trains on come from "
    "its own video sampling (frame rate, frame limits), which this page does not apply yet."
)


class VideoUnavailable(Exception):
    """The video cannot be shown; the message says why."""


class VideoStrips:
    def __init__(self, ds, strips: int = 8):
        self.ds = ds
        self.cache = LRU(strips)

    def _strip(self, pos: int, k: int):
        def make():
            from vlmdata import videos

            try:
                stored = self.ds.image(pos, k, "videos")
            except (KeyError, IndexError):
                raise VideoUnavailable(f"record {pos} has no video {k}") from None
            source = stored.get("bytes")
            source = source if source is not None else stored.get("path")
            if not source:
                raise VideoUnavailable(f"record {pos} video {k} has neither bytes nor a path")
            try:
                return videos.even_frames(source, STRIP_FRAMES)
            except ImportError:
                raise VideoUnavailable(f"showing videos needs PyAV: {videos.INSTALL_HINT}") from None
            except videos.VideoError as exc:
                raise VideoUnavailable(f"record {pos} video {k} cannot be shown: {exc}") from None

        return self.cache.get((pos, k), make)

    def info(self, pos: int, k: int) -> dict:
        header, frames = self._strip(pos, k)
        return {
            "header": header.to_dict(),
            "frames": [{"i": i, "time": t} for i, (t, _) in enumerate(frames)],
            "note": NOTE,
        }

    def frame(self, pos: int, k: int, i: int, side: int) -> tuple[bytes, str]:
        _, frames = self._strip(pos, k)
        if not 0 <= i < len(frames):
            raise VideoUnavailable(f"record {pos} video {k} has no strip frame {i} (0 to {len(frames) - 1})")
        image = frames[i][1].copy()
        image.thumbnail((side, side))
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="JPEG", quality=85)
        return buf.getvalue(), "image/jpeg"
