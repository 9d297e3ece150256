"""What every format module shares: the read and write contexts, image path resolution, the image store.

A format module provides
    NAME: str
    detect(raw: dict) -> bool                          # does this raw record look like this format?
    to_canonical(raw: dict, ctx: ReadContext) -> dict  # raw record -> canonical record (RecordError if bad)
    from_canonical(rec: dict, ctx: WriteContext) -> tuple[dict, list[str]]
                                                       # canonical -> raw, plus what could not be expressed
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from vlmdata.errors import Location, Problem, RecordError, json_type
from vlmdata.images import ImageValueError, parse_value

IMAGE_TOKEN = "<image>"
MARKERS = {"image": IMAGE_TOKEN, "video": "<video>", "audio": "<audio>"}  # LLaMA-Factory's and LLaVA's
_KIND_OF = {v: k for k, v in MARKERS.items()}
_MARKER_RES: dict[tuple, re.Pattern] = {}


def split_on_markers(text: str, kinds: tuple[str, ...] = tuple(MARKERS)) -> list[tuple[str, str]]:
    """ "<image>Hi<video>" -> [("image", ""), ("text", "Hi"), ("video", "")] (empty text pieces dropped);
    only the markers of `kinds` split (LLaVA has no audio: "<audio>" stays text there)."""
    pattern = _MARKER_RES.get(kinds)
    if pattern is None:
        pattern = _MARKER_RES[kinds] = re.compile("(" + "|".join(re.escape(MARKERS[k]) for k in kinds) + ")")
    out = []
    for piece in pattern.split(text):
        kind = _KIND_OF.get(piece) if piece in _KIND_OF and _KIND_OF[piece] in kinds else None
        if kind:
            out.append((kind, ""))
        elif piece:
            out.append(("text", piece))
    return out


def count_markers(text: str) -> dict[str, int]:
    return {kind: text.count(marker) for kind, marker in MARKERS.items()}


@dataclass(frozen=True)
class WriterOption:
    """One option of a format's writer, declared by its module (WRITER_OPTIONS) and made a command-line
    flag of every command that writes the format (`vlmdata.cli.options.writer_options`).

        WriterOption("--llava-image-list", "multi_image", "LLaVA output: write several images as a list.")
        -> the flag --llava-image-list, passed as from_canonical(rec, ctx, multi_image=True)
    """

    flag: str  # the command-line flag: "--llava-image-list"
    keyword: str  # from_canonical's keyword argument: "multi_image"
    help: str

    @property
    def name(self) -> str:
        """The option's Python name, as click passes it and `convert(writer_options=...)` takes it."""
        return self.flag.lstrip("-").replace("-", "_")


@dataclass
class ReadContext:
    """Where the record being read came from, and how to resolve its relative image paths.

    `root` is the dataset folder: image paths must stay inside it. `media_dir` (LLaMA-Factory's name)
    is the folder relative paths resolve against; by default the input file's folder.
    """

    file: str
    root: Path
    media_dir: Path
    record: int = 0
    line: int | None = None
    columns: dict = field(default_factory=dict)  # LLaMA-Factory dataset_info.json `columns`
    tags: dict = field(default_factory=dict)  # LLaMA-Factory dataset_info.json `tags`
    _stem: str | None = field(default=None, repr=False, compare=False)

    def where(self, path: str = "$") -> Location:
        return Location(self.file, self.record, self.line, path)

    def fail(self, code: str, message: str, path: str = "$", expected=None, found=None, fix=None):
        raise RecordError(Problem(code, message, self.where(path), expected, found, fix))

    def turns(self, raw: dict, key: str) -> list:
        """The record's list of turns under `key`; a record without one fails here."""
        items = raw.get(key)
        if not isinstance(items, list):
            self.fail("missing-field", f"record has no {key} list", f"$.{key}", "array", json_type(items))
        return items

    def objects(self, items: list, key: str, what: str):
        """(JSON path, item) for each turn of `items` (the list under `key`); a turn that is not an
        object fails the record ("turn must be an object")."""
        for i, item in enumerate(items):
            path = f"$.{key}[{i}]"
            if not isinstance(item, dict):
                self.fail("type", f"{what} must be an object", path, "object", json_type(item))
            yield path, item

    def default_id(self) -> str:
        if self._stem is None:
            self._stem = Path(self.file).stem  # once per file, not per record
        return f"{self._stem}-{self.record:06d}"

    def record_id(self, raw: dict) -> str:
        """The record's id as text; a missing or null id gets the file-and-index default."""
        value = raw.get("id")
        if value is None:
            return self.default_id()
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.fail("type", "id must be a string or an integer", "$.id", "string|integer", json_type(value))
        return str(value)

    def record_source(self, raw: dict) -> str:
        value = raw.get("source")
        if value is not None and not isinstance(value, str):
            self.fail("type", "source must be a string", "$.source", "string", json_type(value))
        return value or ""

    def image(self, value, path: str) -> dict:
        """Turn what a format stores for an image into `{"bytes", "path"}` (parsing: vlmdata.images).

        "imgs/a.jpg" | {"path": "imgs/a.jpg"} | {"bytes": b"...", "path": None} | "data:image/png;base64,..."
        -> {"bytes": None, "path": "/abs/dataset/imgs/a.jpg"} or {"bytes": b"...", "path": None}

        Relative paths must stay inside the dataset folder (links followed); absolute paths are read
        where they are when the file exists, as LLaMA-Factory, Qwen-VL and ms-swift read them.
        """
        try:
            data, file = parse_value(value)
        except ImageValueError as e:
            self.fail(e.code, e.message, path + e.sub, e.expected, e.found, e.fix)
        if data is not None:
            return {"bytes": data, "path": value.get("path") if isinstance(value, dict) else None}
        if os.path.isabs(file):
            resolved = Path(file).resolve()
            if not resolved.is_relative_to(self.root) and not resolved.is_file():
                self.fail(
                    "image-missing",
                    "absolute image path does not exist on this machine",
                    path,
                    "an existing file",
                    file,
                    "copy the images here and make the paths relative (or fix the absolute paths)",
                )
            return {"bytes": None, "path": str(resolved)}
        resolved = (self.media_dir / file).resolve()
        if not resolved.is_relative_to(self.root):
            self.fail(
                "image-outside",
                "image path escapes the dataset folder",
                path,
                f"a path inside {self.root}",
                file,
                "move the image into the dataset folder, pass --media-dir, or give its absolute path",
            )
        return {"bytes": None, "path": str(resolved)}


_MAGIC = [(b"\x89PNG", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"GIF8", ".gif"), (b"BM", ".bmp")]


def image_suffix(data: bytes, path: str | None) -> str:
    for magic, suffix in _MAGIC:
        if data.startswith(magic):
            return suffix
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    suffix = Path(path or "").suffix.lower()
    return suffix or ".bin"


class ImageStore:
    """Content-addressed image folder for JSON outputs: an image used twice is stored once.

    store.add({"bytes": b"...", "path": None}) -> "images/3f2a9c1e0b7d4a55.png"
    """

    def __init__(self, out_dir: Path, folder: str = "images"):
        self.out_dir = out_dir
        self.folder = folder
        self.seen: dict[str, str] = {}
        self.written = 0

    def add(self, image: dict) -> str:
        data = image.get("bytes")
        if data is None:
            with open(image["path"], "rb") as fh:
                data = fh.read()
        digest = hashlib.sha256(data).hexdigest()[:20]
        rel = self.seen.get(digest)
        if rel is None:
            rel = f"{self.folder}/{digest}{image_suffix(data, image.get('path'))}"
            target = self.out_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            self.seen[digest] = rel
            self.written += 1
        return rel


@dataclass
class WriteContext:
    out_dir: Path
    images: ImageStore
    stores: dict = field(default_factory=dict)  # videos/, audios/: one content-addressed store each

    def media(self, key: str) -> ImageStore:
        """The store for "videos" or "audios" (files under out/videos/, out/audios/)."""
        if key not in self.stores:
            self.stores[key] = ImageStore(self.out_dir, key)
        return self.stores[key]
