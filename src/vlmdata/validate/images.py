"""Image checks: the path stays inside the dataset folder, the file exists, and it opens within a pixel
limit (header only by default; `full=True` decodes every pixel).

    checker = ImageChecker(root="/data/lf", mode="header", max_pixels=89_478_485)
    checker.check("imgs/a.jpg", "$.images[0]", media_dir="/data/lf")   -> []   (or a list of Problems)

Existence is answered from one directory listing per folder (cached), not a stat per record, and each
distinct file is opened once however many records use it.
"""

from __future__ import annotations

import os

from vlmdata import videos
from vlmdata.errors import Location, Problem
from vlmdata.images import (  # noqa: F401 (DEFAULT_MAX_PIXELS, own_pixel_limit: re-exported)
    DEFAULT_MAX_PIXELS,
    MEDIA_CONTAINERS,
    ImageValueError,
    inspect,
    own_pixel_limit,
    parse_value,
    sniff_media,
)

MODES = ("exists", "header", "full")
_ESCAPES = frozenset({"\0escapes"})  # listing marker: the folder is a link out of the dataset


def _p(code, message, path, expected, found, fix=None) -> Problem:
    return Problem(code, message, Location(path=path), expected, found, fix)


def _as_kind(p: Problem, kind: str) -> Problem:
    """A path problem of a video or audio, worded for it ("video path escapes the dataset folder")."""
    p.code, p.message, _, _, p.fix = _kind_of((p.code, p.message, None, None, p.fix), kind)
    return p


def _kind_of(finding: tuple, kind: str) -> tuple:
    code, message, expected, found, fix = finding
    return (
        code.replace("image", kind),
        message.replace("image", kind),
        expected,
        found,
        fix and fix.replace("image", kind),
    )


class ImageChecker:
    def __init__(
        self,
        root,
        mode: str = "header",
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_video_pixels: int = videos.DEFAULT_MAX_VIDEO_PIXELS,
        full_videos: bool = False,
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.root = os.path.normpath(os.fspath(root))
        self._prefix = self.root.rstrip(os.sep) + os.sep
        self._real_root = os.path.realpath(self.root)
        self._real_prefix = self._real_root.rstrip(os.sep) + os.sep
        self.mode = mode
        self.max_pixels = max_pixels
        self._listings: dict[str, frozenset] = {}
        self._opened: dict[str, list[tuple]] = {}
        self.checked = 0  # image references checked
        self.outside = 0  # of which absolute paths outside the dataset folder
        self.media = 0  # video and audio references checked
        self.videos = 0  # of which videos
        self._fine: dict[tuple[str, str], int] = {}  # (path, media_dir) checked and fine -> outside 0/1
        self.max_video_pixels = max_video_pixels
        self.full_videos = full_videos  # --check-videos: decode every frame
        self.videos_unopened = 0  # video files only told by their container: PyAV is not installed

    def check(self, value, path: str, media_dir: str, kind: str = "image") -> list[Problem]:
        """Problems of one image (video, audio) reference: a path, a data: URL, or {bytes, path}. Audios
        are not decoded: their container is told from the first bytes (images.sniff_media); videos are
        read by their header too (vlmdata.videos: duration, frames, pixel limit, truncation)."""
        if kind != "image":
            return self._check_media(value, path, media_dir, kind)
        self.checked += 1
        if type(value) is str:
            outside = self._fine.get((value, media_dir))
            if outside is not None:  # this path was checked before and is fine
                self.outside += outside
                return []
            outside_before = self.outside
            found = self._check_path(value, path, media_dir)
            if not found:
                self._fine[(value, media_dir)] = self.outside - outside_before
            return found
        return self._check_path(value, path, media_dir)

    def _check_path(self, value, path: str, media_dir: str) -> list[Problem]:
        try:
            data, file = parse_value(value)
        except ImageValueError as e:
            if e.wrong_type:
                return []  # the schema reports wrong types
            return [_p(e.code, e.message, path + e.sub, e.expected, e.found, e.fix)]
        if data is not None:
            return self._open_bytes(data, path)
        return self._check_file(file, path, media_dir)

    def _check_file(self, value: str, path: str, media_dir: str) -> list[Problem]:
        if value[0] != "/" and value[0] != "." and "/." not in value and "//" not in value:
            full = media_dir + "/" + value  # nothing to normalize (normpath costs more than the rest)
        else:
            full = os.path.normpath(value if os.path.isabs(value) else os.path.join(media_dir, value))
        if not full.startswith(self._prefix):
            if os.path.isabs(value):  # as LLaMA-Factory, Qwen-VL and ms-swift read them
                return self._outside(full, value, path)
            return [
                _p(
                    "image-outside",
                    "image path escapes the dataset folder",
                    path,
                    f"a path inside {self.root}",
                    value,
                    "move the image into the dataset folder, or give its absolute path",
                )
            ]
        folder, _, name = full.rpartition("/")
        listing = self._listings.get(folder)
        if listing is None:
            listing = self._listings[folder] = self._list(folder)
        if listing is _ESCAPES:
            return [
                _p(
                    "image-outside",
                    "image folder is a link that leads out of the dataset folder",
                    path,
                    f"a path inside {self.root}",
                    value,
                    "copy the images into the dataset folder",
                )
            ]
        if name not in listing:
            return [
                _p(
                    "image-missing",
                    "image file does not exist",
                    path,
                    "an existing file",
                    value,
                    f"check the path: relative paths resolve against {media_dir}",
                )
            ]
        if self.mode == "exists":
            return []
        found = self._opened.get(full)
        if found is None:
            found = self._opened[full] = self._linked_out(full) or self._open(full)
        return [_p(code, msg, path, exp, fnd, fix) for code, msg, exp, fnd, fix in found]

    def _list(self, folder: str) -> frozenset:
        """The names in a folder (empty if it doesn't exist), or _ESCAPES when a symlink on the way
        leads outside the dataset folder (the format readers resolve links and refuse those)."""
        real = os.path.realpath(folder)
        if real != folder and real != self._real_root and not real.startswith(self._real_prefix):
            return _ESCAPES
        try:
            return frozenset(os.listdir(folder))
        except OSError:
            return frozenset()

    def _linked_out(self, full: str) -> list[tuple]:
        """A file that is a link out of the dataset folder (checked when the file is opened anyway)."""
        if os.path.islink(full):
            real = os.path.realpath(full)
            if not real.startswith(self._real_prefix):
                return [
                    (
                        "image-outside",
                        "image file is a link that leads out of the dataset folder",
                        f"a path inside {self.root}",
                        f"a link to {real}",
                        "copy the image into the dataset folder",
                    )
                ]
        return []

    def _check_media(self, value, path: str, media_dir: str, kind: str) -> list[Problem]:
        self.media += 1
        self.videos += kind == "video"
        try:
            data, file = parse_value(value)
        except ImageValueError as e:
            return (
                []
                if e.wrong_type
                else [_p(e.code, e.message.replace("image", kind), path + e.sub, e.expected, e.found, e.fix)]
            )
        if data is None:
            saved, self.mode = self.mode, "exists"
            try:
                found = self._check_file(file, path, media_dir)
            finally:
                self.mode = saved
            if found or self.mode == "exists":
                return [_as_kind(p, kind) for p in found]
            full = os.path.normpath(file if os.path.isabs(file) else os.path.join(media_dir, file))
            findings = self._opened.get((kind, full))
            if findings is None:
                linked = [_kind_of(f, kind) for f in self._linked_out(full)]
                findings = self._opened[(kind, full)] = linked or self._open_media(full, kind, file)
        elif self.mode == "exists":
            return []
        else:
            findings = self._open_media(data, kind, None)
        return [_p(code, msg, path, exp, fnd, fix) for code, msg, exp, fnd, fix in findings]

    def _open_media(self, source, kind: str, file: str | None) -> list[tuple]:
        """The container told from the first bytes; a video's header read (vlmdata.videos) when PyAV is
        installed, else only counted (validate lists the count with the install command)."""
        if file is not None:
            try:
                with open(source, "rb") as fh:
                    head = fh.read(64)
            except OSError as exc:
                return [
                    (f"{kind}-missing", f"cannot read {kind}: {exc.strerror}", "a readable file", file, None)
                ]
        else:
            head = source[:64]
        if sniff_media(head) != kind:
            return [
                (
                    f"{kind}-corrupt",
                    f"not a {kind} file (unknown container)",
                    f"a {kind} file ({', '.join(MEDIA_CONTAINERS[kind])})",
                    "other data",
                    None,
                )  # fmt: skip
            ]
        if kind != "video":
            return []
        if not videos.available():
            self.videos_unopened += 1
            return []
        found = videos.inspect(source, self.max_video_pixels, self.full_videos)
        return [found] if found else []

    def _outside(self, full: str, value: str, path: str) -> list[Problem]:
        """An absolute path outside the dataset folder: read when the file exists (and is an image)."""
        found = self._opened.get(full)
        if found is None:
            if not os.path.isfile(full):
                found = [
                    (
                        "image-missing",
                        "absolute image path does not exist on this machine",
                        "an existing file",
                        value,
                        "copy the images here and make the paths relative (or fix the absolute paths)",
                    )
                ]
            else:
                found = [] if self.mode == "exists" else self._open(full)
            self._opened[full] = found
        if not found:
            self.outside += 1
        return [_p(code, msg, path, exp, fnd, fix) for code, msg, exp, fnd, fix in found]

    def _open_bytes(self, data: bytes, path: str) -> list[Problem]:
        if self.mode == "exists":
            return []
        return [_p(code, msg, path, exp, fnd, fix) for code, msg, exp, fnd, fix in self._open(data)]

    def _open(self, source) -> list[tuple]:
        """[(code, message, expected, found, fix)] for one file or buffer; [] when it is fine."""
        found = inspect(source, self.max_pixels, full=self.mode == "full")
        return [found] if found else []
