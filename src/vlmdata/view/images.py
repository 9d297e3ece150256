"""Images for the page: thumbnails made on request from the stored bytes, and full-size copies.

    thumbnail({"bytes": b"\\x89PNG...", "path": "a.png"}, 256) -> (b"\\xff\\xd8...", "image/jpeg")
    image_size({"bytes": None, "path": "/data/lf/imgs/a.jpg"}) -> (640, 480)

Whatever is sent is re-encoded by PIL from a decoded image: bytes that are not an image never reach the
browser, whatever a record's path points at. Recent thumbnails are kept (a few MB at most).
"""

from __future__ import annotations

import io

from vlmdata.view.cache import LRU

THUMB_SIZES = (64, 128, 256, 512)  # sizes a request may ask for (anything else is refused)
FULL_MAX_SIDE = (
    4096  # a "full" image is still capped, so one request cannot make the server decode huge images
)
_CACHE_BYTES = 16 * 1024 * 1024


class ImageError(Exception):
    """The stored image cannot be decoded (the page shows validate's message for it)."""


def _data(image: dict) -> bytes:
    data = image.get("bytes")
    if data is not None:
        return bytes(data)
    path = image.get("path")
    if not path:
        raise ImageError("image has neither bytes nor a path")
    with open(path, "rb") as fh:
        return fh.read()


def image_size(image: dict) -> tuple[int, int] | None:
    """Width and height from the header, or None when it cannot be read."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(_data(image))) as im:
            return im.size
    except (OSError, ValueError, SyntaxError, ImageError):
        return None


def render(image: dict, side: int) -> tuple[bytes, str]:
    """The image scaled to fit `side` x `side`, as JPEG (PNG when it has transparency)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(_data(image))) as im:
            if im.width * im.height > 200_000_000:
                raise ImageError(f"image too large to show ({im.width}x{im.height})")
            im.draft("RGB", (side, side))  # JPEG: decode at a reduced scale directly
            im.thumbnail((side, side))
            alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
            out = im.convert("RGBA" if alpha else "RGB")
    except ImageError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageError(f"not a readable image: {exc}") from None
    buf = io.BytesIO()
    if alpha:
        out.save(buf, format="PNG")
        return buf.getvalue(), "image/png"
    out.save(buf, format="JPEG", quality=85)
    return buf.getvalue(), "image/jpeg"


class ThumbnailCache(LRU):
    """The last few MB of rendered images, keyed by (position, image, size)."""

    def __init__(self, max_bytes: int = _CACHE_BYTES):
        super().__init__(max_bytes, weight=lambda value: len(value[0]))
