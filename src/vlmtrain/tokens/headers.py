"""Layer 2 (token counting): image sizes from file headers, without decoding pixels.

    {"bytes": b"\\x89PNG...", "path": "a.png"}  ->  (640, 480)      # (width, height) as the model sees it

`PIL.Image.open` reads only the header; `.size` is known before any pixel is decoded. The size is
reported *after* EXIF orientation, because `datasets` (which the training collator reads through)
applies `ImageOps.exif_transpose` when it decodes: a 640x480 JPEG tagged "rotate 90" reaches the
processor as 480x640, and its token count follows that.
"""

from __future__ import annotations

import io
import math
import os

from vlmdata.errors import Location, Problem

# EXIF orientations 5-8 swap width and height (transpose, rotate 90/270, transverse).
_SWAPS_AXES = {5, 6, 7, 8}
_ORIENTATION_TAG = 0x0112


class ImageHeaderError(Exception):
    """An image whose header cannot be read; carries a Problem for the report."""

    def __init__(self, problem: Problem):
        super().__init__(problem.describe())
        self.problem = problem


def image_size(image: dict, *, base_dir: str | None = None) -> tuple[int, int]:
    """(width, height) of one canonical image dict, read from its header (bytes first, else path)."""
    from PIL import Image

    data = image.get("bytes")
    if data is not None:
        source = io.BytesIO(data)
    else:
        path = image.get("path")
        if not path:
            raise ValueError("image has neither bytes nor path")
        if base_dir and not os.path.isabs(path):
            path = os.path.join(base_dir, path)
        source = path
    with Image.open(source) as img:
        width, height = img.size
        if img.format == "PNG" and "exif" not in img.info and not _png_late_metadata(source):
            # PIL's PNG getexif() decodes every pixel to look for EXIF after the image data; the chunk
            # scan found none there, so the chunks before it (already read) are all there is.
            exif = Image.Image.getexif(img)
        else:
            exif = img.getexif()  # JPEG, WebP, ...: the header's EXIF block only, no pixel decode
        orientation = exif.get(_ORIENTATION_TAG)
    if orientation in _SWAPS_AXES:
        width, height = height, width
    return width, height


# PNG chunks that can carry EXIF (eXIf, or ImageMagick's "Raw profile type exif" text)
_PNG_METADATA = {b"eXIf", b"tEXt", b"zTXt", b"iTXt"}


def _png_late_metadata(source) -> bool:
    """Whether a PNG has a chunk that may hold EXIF after its image data (read by seeking over chunk
    lengths, not by decoding)."""
    f = open(source, "rb") if isinstance(source, str) else source  # noqa: SIM115 - closed below
    try:
        f.seek(8)  # the signature
        after_data = False
        while len(head := f.read(8)) == 8:
            kind = head[4:]
            if kind == b"IEND":
                return False
            if kind == b"IDAT":
                after_data = True
            elif after_data and kind in _PNG_METADATA:
                return True
            f.seek(int.from_bytes(head[:4], "big") + 4, 1)  # data + CRC
        return False
    finally:
        if f is not source:
            f.close()


def cap_size(width: int, height: int, max_pixels: int | None) -> tuple[int, int]:
    """The size `vlmtrain run`'s max_pixels cap gives an image (vlmtrain.data.cap_image, same arithmetic)."""
    if not max_pixels or width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def record_image_sizes(
    record: dict, index: int, file: str | None = None, max_pixels: int | None = None
) -> list[tuple[int, int]]:
    """Sizes of every image of a record (after the run's max_pixels cap, if any); raises ImageHeaderError
    naming the record and image."""
    sizes = []
    for k, image in enumerate(record.get("images") or []):
        try:
            sizes.append(cap_size(*image_size(image), max_pixels))
        except Exception as exc:  # PIL raises several types for bad headers
            reason = str(exc).split(" <_io.")[0]  # PIL appends the repr of its BytesIO: noise to a user
            raise ImageHeaderError(
                Problem(
                    code="image-unreadable",
                    message=f"image header cannot be read: {reason}",
                    where=Location(file=file, record=index, path=f"$.images[{k}]"),
                    fix="re-encode or drop this image (vlmdata validate lists every bad image)",
                )
            ) from exc
    return sizes
