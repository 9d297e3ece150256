"""Processors without a video processor, for machines without torchvision.

The tiny builders construct their processors with it (the stock class refuses video_processor=None and
every video processor class needs torchvision) and then write the video processor config as JSON, so
the saved folder loads with the stock class wherever torchvision is installed.

Qwen2-VL, Qwen2.5-VL and SmolVLM processors take a video processor in their constructor, and every video
processor needs torchvision. ProcessorMixin reads a processor's parts from its `__init__` signature, so a
subclass whose `__init__` has no `video_processor` loads and saves image+text only. The subclass keeps
the parent's name so saved folders still say e.g. "Qwen2VLProcessor" and load normally elsewhere.
"""

from __future__ import annotations

import functools
import inspect


@functools.lru_cache(maxsize=64)  # one subclass per processor class (a few dozen at most), kept the same
def no_video_subclass(cls):
    from transformers import ProcessorMixin

    # ProcessorMixin saves the constructor's own arguments (SmolVLM's image_seq_len) by signature and
    # reloads them by `__init__.__code__.co_varnames`, so the subclass's __init__ must name them for real.
    params = [
        p
        for n, p in inspect.signature(cls.__init__).parameters.items()
        if n not in ("self", "video_processor")
    ]
    named = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    defaults = {f"_d{i}": p.default for i, p in enumerate(named) if p.default is not p.empty}
    arglist = ", ".join(
        f"{p.name}=_d{i}" if p.default is not p.empty else p.name for i, p in enumerate(named)
    )
    passed = ", ".join(f"{p.name}={p.name}" for p in named)
    src = f"def __init__(self, {arglist}, **kwargs):\n    _cls.__init__(self, {passed}, video_processor=None, **kwargs)\n"
    scope = {"_cls": cls, **defaults}
    exec(src, scope)  # noqa: S102 - source built from the installed class's own signature

    # SmolVLM's own apply_chat_template expects video handling; the generic one renders images fine.
    attrs = {
        "__init__": scope["__init__"],
        "apply_chat_template": ProcessorMixin.apply_chat_template,
        "__module__": __name__,
    }
    # Gemma4's __init__ hands `video_processor=None` on to ProcessorMixin by keyword, which refuses a part
    # the subclass's signature lacks: a shim between the two (next in the MRO) drops it.
    return type(cls.__name__, (cls, _no_video_shim()), attrs)


@functools.cache
def _no_video_shim():
    from transformers import ProcessorMixin

    def __init__(self, *args, **kwargs):
        if "video_processor" in kwargs and kwargs["video_processor"] is None:
            del kwargs["video_processor"]
        ProcessorMixin.__init__(self, *args, **kwargs)

    return type("NoVideoProcessorMixin", (ProcessorMixin,), {"__init__": __init__, "__module__": __name__})
