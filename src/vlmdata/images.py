"""Images, in one place: what a record's image value is, how large an image is, whether it opens.

    parse_value("data:image/png;base64,iVBO...")  -> (b"\\x89PNG...", None)
    parse_value({"bytes": None, "path": "a.jpg"})  -> (None, "a.jpg")
    parse_value("https://x/a.jpg")                 -> ImageValueError("image-url", ...)
    header_size(b"\\x89PNG\\r\\n\\x1a\\n...")        -> (640, 480)   # None: not a format parsed here
    inspect(b"...", max_pixels=89_478_485)          -> None, or (code, message, expected, found, fix)

`inspect` is the header check every command runs (validate, convert, download): the size from the
header bytes (PNG, JPEG, GIF, WebP, BMP parsed here in a few microseconds, anything else through PIL's
lazy open), the pixel limit, and with full=True a complete decode. The readers (formats.base), the
validator (validate.images), download and info all go through these functions.
"""

from __future__ import annotations

import base64
import binascii
import io
import struct
import warnings
from contextlib import contextmanager

from vlmdata.errors import json_type

# PIL's own decompression-bomb limit: an image over it makes PIL warn (and raise at twice as many).
DEFAULT_MAX_PIXELS = 89_478_485

Finding = tuple[str, str, str, str, str | None]  # (code, message, expected, found, fix)


class ImageValueError(ValueError):
    """An image value no reader can use; `sub` is the JSON path below the value (e.g. ".bytes")."""

    def __init__(self, code, message, expected, found, fix=None, sub="", wrong_type=False):
        super().__init__(message)
        self.wrong_type = wrong_type  # a value of the wrong JSON type: the schemas report those
        self.code, self.message, self.expected, self.found, self.fix, self.sub = (
            code,
            message,
            expected,
            found,
            fix,
            sub,
        )


def parse_value(value) -> tuple[bytes | None, str | None]:
    """(bytes, None) for embedded data, (None, path) for a file reference; ImageValueError otherwise.

    Accepted: "imgs/a.jpg", {"path": ...}, {"bytes": b"..." | base64 text, "path": ...},
    "data:image/png;base64,...", and xtuner/Qwen's {"url": ...} object.
    """
    if isinstance(value, dict):
        data = value.get("bytes")
        if data is not None:
            if isinstance(data, str):  # JSON can only carry bytes as base64 text
                return b64(data, ".bytes"), None
            if isinstance(data, bytes | memoryview):  # a memoryview: Arrow's buffer, not copied
                return data, None
            if isinstance(data, bytearray):
                return bytes(data), None
            raise ImageValueError(
                "image-value",
                "image bytes must be base64 text",
                "string",
                json_type(data),
                sub=".bytes",
                wrong_type=True,
            )
        value = value.get("path") if value.get("path") is not None else value.get("url")
    if not isinstance(value, str) or not value:
        raise ImageValueError(
            "image-value",
            "image must be a path, a data: URL or {bytes, path}",
            "string",
            json_type(value),
            wrong_type=True,
        )
    if value.startswith("data:"):
        header, _, payload = value.partition(",")
        if ";base64" not in header:
            raise ImageValueError(
                "image-value", "data: URLs must be base64", "data:<mime>;base64,...", header
            )
        return b64(payload), None
    if value.startswith(("http://", "https://")):
        raise ImageValueError(
            "image-url",
            "remote image URLs are not fetched",
            "a local path",
            value,
            "download the images and reference them by path",
        )
    return None, value


def b64(text: str, sub: str = "") -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ImageValueError(
            "image-value", "image bytes are not valid base64", "base64 text", text[:20] + "...", sub=sub
        ) from None


MEDIA_CONTAINERS = {
    "video": ("mp4", "mov", "webm", "mkv", "avi"),
    "audio": ("mp3", "wav", "flac", "ogg", "m4a"),
}


def sniff_media(head) -> str | None:
    """ "video" | "audio" | None from a file's first bytes (containers only: nothing is decoded)."""
    head = bytes(head[:16])
    if head[4:8] == b"ftyp":  # ISO media: mp4/mov are video, M4A audio
        return "audio" if head[8:11] in (b"M4A", b"M4B") else "video"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # Matroska / WebM
        return "video"
    if head.startswith(b"RIFF"):
        return {b"AVI ": "video", b"WAVE": "audio"}.get(head[8:12])
    if head.startswith((b"ID3", b"fLaC", b"OggS")) or (
        len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
    ):
        return "audio"
    return None


def over_limit(width: int, height: int, max_pixels: int | None) -> bool:
    """The pixel-limit arithmetic: PIL's bomb check compares width * height with the limit."""
    return max_pixels is not None and width * height > max_pixels


def header_size(data) -> tuple[int, int] | None:
    """(width, height) read from the first bytes of PNG, JPEG, GIF, WebP and BMP data; None otherwise
    (or when the header is damaged: PIL then decides)."""
    head = bytes(data[:32])
    try:
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            return struct.unpack(">II", head[16:24])
        if head.startswith((b"GIF87a", b"GIF89a")):
            return struct.unpack("<HH", head[6:10])
        if head.startswith(b"BM") and len(head) >= 26:
            w, h = struct.unpack("<ii", head[18:26])
            return (w, abs(h)) if w > 0 and h else None
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return _webp(head)
        if head.startswith(b"\xff\xd8"):
            return _jpeg(data)
    except struct.error:
        return None
    return None


def _webp(head: bytes):
    kind = head[12:16]
    if kind == b"VP8X":
        return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
    if kind == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None  # lossy VP8: its frame header needs more care; PIL reads it


_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg(data):
    """Walk the marker segments up to the first start-of-frame (a few segments: APP0/APP1, DQT, ...)."""
    i, n = 2, len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _SOF:
            h, w = struct.unpack(">HH", bytes(data[i + 5 : i + 9]))
            return (w, h) if w and h else None
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        i += 2 + ((data[i + 2] << 8) | data[i + 3])
    return None


def inspect(source, max_pixels: int | None = DEFAULT_MAX_PIXELS, full: bool = False) -> Finding | None:
    """Check one image (bytes, a memoryview or a file path): None when it opens within the limit."""
    if not full:
        if isinstance(source, str):
            try:
                with open(source, "rb") as fh:
                    head = fh.read(1 << 16)
            except OSError as exc:
                return (
                    "image-missing",
                    f"cannot read image: {exc.strerror}",
                    "a readable file",
                    source,
                    None,
                )
        else:
            head = source
        size = header_size(head)
        if size is not None:
            return _too_large(*size, max_pixels)
    return _pil(source if isinstance(source, str) else io.BytesIO(bytes(source)), max_pixels, full)


def _too_large(width: int, height: int, max_pixels: int | None) -> Finding | None:
    if over_limit(width, height, max_pixels):
        pixels = width * height
        return (
            "image-too-large",
            f"image has {pixels:,} pixels ({width}x{height}), over the limit",
            f"at most {max_pixels:,} pixels",
            f"{pixels:,} pixels",
            "resize the image or raise --max-pixels",
        )
    return None


def _pil(source, max_pixels: int | None, full: bool) -> Finding | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with own_pixel_limit(), Image.open(source) as im:
            found = _too_large(*im.size, max_pixels)
            if found:
                return found
            if full:
                im.load()
    except UnidentifiedImageError:
        return (
            "image-corrupt",
            "not a readable image (unknown format)",
            "an image file",
            "unreadable data",
            None,
        )
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        # Truncated or damaged pixel data: PIL raises OSError, sometimes ValueError/SyntaxError.
        return ("image-corrupt", f"image data is damaged: {exc}", "a decodable image", "damaged data", None)
    return None


def size_of(data: bytes) -> tuple[int, int, str | None]:
    """(width, height, format) after EXIF orientation is not applied: for statistics (`vlmdata info`)."""
    from PIL import Image

    with own_pixel_limit(), Image.open(io.BytesIO(data)) as im:
        return im.size[0], im.size[1], im.format


@contextmanager
def own_pixel_limit():
    """Let this module apply the pixel limit (with a precise message) instead of PIL raising."""
    from PIL import Image

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved
