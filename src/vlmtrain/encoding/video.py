"""Videos as a family's own video processor samples them: frame indices and resized size from the container
header alone, and only those frames decoded (PyAV, seeking to the keyframe before each).

    header = video_header({"bytes": None, "path": "clip.mp4"})        # vlmdata.videos.probe, no decode
      -> VideoHeader(duration=2.0, frames=60, fps=30.0, width=64, height=48, rotation=0, ...)
    plan = plan_video(family.video, processor.video_processor, header)
      -> VideoPlan(indices=[0, 15, 30, 45], height=56, width=84, grid_thw=(2, 4, 6), fps=30.0, ...)
    frames = decode_frames("clip.mp4", header, plan.indices)          # uint8 [4, 48, 64, 3], as displayed
    processor(text=..., videos=[frames], video_metadata=[plan.metadata()], do_sample_frames=False)
      == processor(text=..., videos=[<every frame decoded>], video_metadata=[<header's metadata>])

The indices come from the video processor's own `sample_frames`, called with the header's frame count, fps
and duration and the same keyword arguments its `preprocess` passes (the processor's settings), so they
are the processor's by construction; the resized size comes from the family's rule (`VideoRule.resize`,
transformers' own `smart_resize` with the processor's pixel budget). The run's video settings
(`video_fps`, `video_min_frames`, `video_max_frames`, `video_max_pixels`) are written onto the processor
once (`configure`), so the real processor and this plan read the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vlmtrain.errors import VlmTrainError

# Qwen's reference sampling (qwen-vl-utils FPS=2; Qwen3-VL's processor default), used where a checkpoint's
# video processor does not sample frames at all (transformers' Qwen2-VL default keeps every frame).
REFERENCE_FPS = 2.0
# What `preprocess` pops before it hands the rest of its keyword arguments to `sample_frames`.
_NOT_SAMPLING = ("input_data_format", "do_convert_rgb", "do_sample_frames", "device", "video_metadata")


@dataclass(frozen=True)
class VideoSettings:
    """A run's video settings; None keeps the checkpoint's video processor value."""

    fps: float | None = None
    min_frames: int | None = None
    max_frames: int | None = None
    max_pixels: int | None = None  # per frame


@dataclass(frozen=True)
class VideoPlan:
    """What the family's video processor does with one video: the frames it keeps and their size."""

    indices: list[int]
    height: int  # after resize
    width: int
    grid_thw: tuple[int, int, int]
    fps: float  # the video's own frame rate (header)
    total_frames: int
    duration: float
    source_size: tuple[int, int] = (0, 0)  # (width, height) as displayed

    def metadata(self) -> dict:
        """The `video_metadata` entry the processor gets with the sampled frames (do_sample_frames=False):
        its timestamps (Qwen3-VL) and sampled fps (Qwen2.5-VL's second_per_grid_ts) read these."""
        width, height = self.source_size
        return {
            "total_num_frames": self.total_frames,
            "fps": self.fps,
            "duration": self.duration,
            "frames_indices": list(self.indices),
            "width": width,
            "height": height,
        }


@dataclass(frozen=True)
class VideoRule:
    """A family's video rule (its tokens.py `VIDEO`):

    resize(video_processor, num_frames, height, width) -> (height, width)   the processor's resize target
    expand(processor, plan) -> Expansion      what the video placeholder becomes (runs collapsed, as
                                              `encoding.expansion.Expansion` for images)
    placeholder(processor) -> str             what the chat template writes for one video, that the
                                              processor replaces
    dropped_around(processor) -> (str, str)   text the template writes right before and after the
                                              placeholder that the processor removes with it (default
                                              none; Qwen3-VL's processor from transformers 5.24 drops the
                                              template's outer vision start/end: each frame has its own)
    """

    resize: Callable[[Any, int, int, int], tuple[int, int]]
    expand: Callable[[Any, VideoPlan], Any]
    placeholder: Callable[[Any], str] = field(default=lambda processor: processor.video_token)
    dropped_around: Callable[[Any], tuple[str, str]] = field(default=lambda processor: ("", ""))
    # True: the processor's `resize` works from its own `size` in more than one step (SmolVLM: longest
    # edge, then the square), so each frame goes through that `resize` with that `size`, and `resize`
    # above gives the final size
    own_size: bool = False


def settings_from(cfg) -> VideoSettings:
    """A run config (dict or training arguments) -> its VideoSettings (`video_fps`, `video_min_frames`,
    `video_max_frames`, `video_max_pixels`; absent or None: the checkpoint's)."""
    get = cfg.get if isinstance(cfg, dict) else lambda k: getattr(cfg, k, None)
    return VideoSettings(
        get("video_fps"), get("video_min_frames"), get("video_max_frames"), get("video_max_pixels")
    )


def configure(video_processor, settings: VideoSettings | None) -> None:
    """Write the run's settings onto the processor (in place), and make it sample frames: a checkpoint whose
    processor keeps every frame (Qwen2-VL's, saved before transformers sampled) samples at
    `REFERENCE_FPS` unless the run says otherwise."""
    settings = settings or VideoSettings()
    if getattr(video_processor, "cap_pixels_per_frame", False) is None:
        video_processor.cap_pixels_per_frame = (
            False  # transformers' behaviour when unset, without its warning
        )
    if not getattr(video_processor, "do_sample_frames", False):
        video_processor.do_sample_frames = True
        if (
            getattr(video_processor, "fps", None) is None
            and getattr(video_processor, "num_frames", None) is None
        ):
            video_processor.fps = REFERENCE_FPS
    if settings.fps is not None:
        video_processor.fps = settings.fps
        video_processor.num_frames = None
    if settings.min_frames is not None:
        video_processor.min_frames = settings.min_frames
    if settings.max_frames is not None:
        video_processor.max_frames = settings.max_frames
    if settings.max_pixels is not None:
        own = video_processor.size  # None where the processor sizes frames otherwise (its rule refuses)
        size = dict(own or {})
        size["longest_edge"] = settings.max_pixels
        video_processor.size = size if own is None or isinstance(own, dict) else type(own)(**size)


def sample_indices(video_processor, header) -> list[int]:
    """The frame indices the processor's `preprocess` would sample from a video with this header."""
    from transformers.video_utils import VideoMetadata

    if not getattr(video_processor, "do_sample_frames", False):
        return list(range(header.frames))
    kwargs = {k: getattr(video_processor, k, None) for k in video_processor.valid_kwargs.__annotations__}
    for k in _NOT_SAMPLING:
        kwargs.pop(k, None)
    meta = VideoMetadata(total_num_frames=header.frames, fps=header.fps, duration=header.duration,
                         width=header.width, height=header.height)  # fmt: skip
    try:
        indices = video_processor.sample_frames(metadata=meta, **kwargs)
    except (ValueError, TypeError) as exc:  # TypeError: a setting its sampler cannot take (SmolVLM, no cap)
        raise ValueError(f"the video processor cannot sample this video: {exc}") from exc
    except ZeroDivisionError as exc:  # a sampler dividing by its frame count (InternVL's, a too-short video)
        raise ValueError(
            f"the video processor samples no frame from this video ({header.duration:.3g} s at its fps)"
        ) from exc
    return [int(i) for i in indices]


def plan_video(rule: VideoRule, video_processor, header) -> VideoPlan:
    """Indices, resized size and grid for one video (header from `video_header`); ValueError where the
    processor would refuse it (too few frames for its temporal patch, aspect ratio over 200)."""
    indices = sample_indices(video_processor, header)
    if not indices:
        raise ValueError("the video processor samples no frame from this video")
    height, width = rule.resize(video_processor, len(indices), header.height, header.width)
    # (frames, height, width) for a processor without patches (each frame a whole image: LLaVA-OneVision)
    patch = getattr(video_processor, "patch_size", None) or 1
    temporal = getattr(video_processor, "temporal_patch_size", None) or 1
    grid_t = -(-len(indices) // temporal)  # the processor repeats the last frame to fill a temporal patch
    return VideoPlan(indices, height, width, (grid_t, height // patch, width // patch), header.fps,
                     header.frames, header.duration, (header.width, header.height))  # fmt: skip


def _source(video: dict, base_dir: str | None = None):
    import os

    if video.get("bytes"):
        return video["bytes"]
    path = video.get("path")
    if not path:
        raise ValueError("video has neither bytes nor path")
    if base_dir and not os.path.isabs(path):
        path = os.path.join(base_dir, path)
    return path


def video_header(video: dict, base_dir: str | None = None):
    """The container header of one canonical video ({"bytes", "path"}); VideoError (a ValueError) when
    vlmdata refuses it. No pixel budget here: the family's resize decides the size."""
    from vlmdata import videos

    return videos.probe(_source(video, base_dir), max_pixels=None)


def decode_frames(source, header, indices: list[int], post=None):
    """uint8 [len(indices), H, W, 3] RGB: the frames at `indices` (positions in presentation order, as a
    full decode numbers them), turned as the container declares. Each is reached by a seek to the keyframe
    before it, unless decoding on from the frame before is shorter; the whole file is never decoded
    where the container's index lists every frame (MP4/MOV), else frames are decoded in order and only the
    wanted ones are converted."""
    import av
    import numpy as np

    from vlmdata.videos import _Buffer, _video_stream

    if isinstance(source, dict):
        source = _source(source)
    wanted = sorted(set(indices))
    got: dict[int, Any] = {}
    k = (header.rotation // 90) % 4

    def convert(frame):  # turned as declared, then `post` (the processor's resize), one frame at a time
        image = frame.to_ndarray(format="rgb24")
        image = np.rot90(image, k) if k else image
        return post(image) if post is not None else image

    with av.open(source if isinstance(source, str) else _Buffer(source)) as container:
        s = _video_stream(container)
        entries = sorted(s.index_entries, key=lambda e: e.timestamp)  # decode order
        if not (
            len(entries) == header.frames and _decode_seeking(container, s, entries, wanted, got, convert)
        ):
            got.clear()
            container.seek(0)
            _decode_in_order(container, s, wanted, got, convert)
    missing = [i for i in wanted if i not in got]
    if missing:
        raise ValueError(f"frames {missing[:5]} of {header.frames} do not decode (the file ends early)")
    return np.ascontiguousarray(np.stack([got[i] for i in indices]))


def _decode_in_order(container, s, wanted, got, convert) -> None:
    want = set(wanted)
    last = wanted[-1]
    for n, frame in enumerate(container.decode(s)):
        if n in want:
            got[n] = convert(frame)
        if n >= last:
            return


def _decode_seeking(container, s, entries, wanted, got, convert) -> bool:
    """Seek per group of pictures. `entries` are the index's samples in decode order (their timestamps are
    decode times); a keyframe that opens a closed group is shown first of it, so the group's frames are
    presentation indices [its decode position, the next keyframe's). After a seek the decoder gives the
    group's frames in presentation order, the keyframe first (checked: False when it does not, an open
    group, and the caller decodes in order instead)."""
    from bisect import bisect_right

    starts = [n for n, e in enumerate(entries) if e.is_keyframe]
    if not starts or starts[0] != 0:
        return False
    group, position, frames = None, -1, None
    for n in wanted:
        g = bisect_right(starts, n) - 1
        if g != group or position >= n:
            container.seek(entries[starts[g]].timestamp, stream=s, backward=True)
            frames = container.decode(s)
            group, position = g, starts[g] - 1
            first = True
        for frame in frames:
            if first and not frame.key_frame:
                return False
            first = False
            position += 1
            if position == n:
                got[n] = convert(frame)
                break
    return True


def frame_resizer(video_processor, plan: VideoPlan, own_size: bool = False):
    """uint8 [H, W, 3] -> uint8 [plan.height, plan.width, 3] by the video processor's own resize (the
    torchvision call its `resize` makes, same interpolation and antialias), one frame at a time: a long or
    large video never holds its sampled frames at full resolution. The processor then runs with do_resize
    off (`RESIZED`)."""
    import numpy as np
    import torch
    from transformers.image_processing_backends import TorchvisionBackend
    from transformers.image_utils import SizeDict

    size = SizeDict(height=plan.height, width=plan.width)
    if own_size:
        own = video_processor.size
        own = own if isinstance(own, SizeDict) else SizeDict(**own)

    def resize(image):
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
        if own_size:  # the processor's own resize, whole (one frame of a [frames, 3, H, W] batch)
            out = video_processor.resize(tensor[None], size=own, resample=video_processor.resample)[0]
        else:
            out = TorchvisionBackend.resize(
                video_processor, image=tensor, size=size, resample=video_processor.resample
            )
        return out.permute(1, 2, 0).numpy()

    return resize


# What the processor call takes for frames `load_video` already resized (the videos' setting only).
RESIZED = {"videos_kwargs": {"do_resize": False}}


def load_video(video: dict, rule: VideoRule, video_processor, where: str, base_dir: str | None = None):
    """(frames, plan) of one canonical video, frames already resized as the processor resizes them (call
    the processor with `RESIZED`), or VlmTrainError naming `where` (record and path)."""
    from vlmdata.videos import VideoError

    try:
        header = video_header(video, base_dir)
        plan = plan_video(rule, video_processor, header)
        resizes = getattr(video_processor, "do_resize", True)
        post = frame_resizer(video_processor, plan, rule.own_size) if resizes else None
        frames = decode_frames(_source(video, base_dir), header, plan.indices, post)
    except (VideoError, ValueError) as exc:
        raise VlmTrainError(f"{where} ({video.get('path') or 'embedded bytes'}): {exc}") from exc
    except ImportError as exc:
        raise VlmTrainError(f"{where}: reading videos needs PyAV: pip install 'vlmkit[video]'") from exc
    return frames, plan
