"""LLaVA's `<image>`-token JSON: one JSON list of records.

    {"id": "000000033471", "image": "coco/train2017/000000033471.jpg",
     "conversations": [{"from": "human", "value": "<image>\\nWhat are the colors of the bus?"},
                       {"from": "gpt", "value": "White and red."}]}

LLaVA writes `<image>\\n` at the start of the turn; the reader drops exactly one newline after each
`<image>` and the writer puts it back, so text survives a round trip unchanged. `image` may be a list
(newer LLaVA variants). LLaVA has no system turn, and classic LLaVA takes one image per record: those
records are lossy (the writer's `multi_image=True` writes a list instead).
"""

from __future__ import annotations

from vlmdata.checks import ImageRef, Turn, check_turns, counted_media
from vlmdata.errors import Problem, json_type
from vlmdata.formats.base import (
    IMAGE_TOKEN,
    MARKERS,
    ReadContext,
    WriteContext,
    WriterOption,
    split_on_markers,
)
from vlmdata.formats.sharegpt import literal_marker_changes
from vlmdata.record import make_record, media_part, normalize_content, text_part

NAME = "llava"
SUFFIX = ".json"  # one JSON list, as LLaVA's llava_v1_5_mix665k.json
SCHEMA = "llava"
CANONICAL = False
arrow_shape = arrow_check = None  # no columnar pass: validate checks record by record
WRITER_OPTIONS = (
    WriterOption("--llava-image-list", "multi_image", "LLaVA output: write several images as a list."),
)
ROLE_MAP = {"human": "user", "gpt": "assistant"}
FROM = {"user": "human", "assistant": "gpt"}


def detect(raw: dict) -> bool:
    conv = raw.get("conversations")
    return (
        isinstance(conv, list)
        and "images" not in raw
        and "messages" not in raw
        and (not conv or (isinstance(conv[0], dict) and "from" in conv[0]))
    )


KINDS = ("image", "video")  # LLaVA's `image`; Qwen-VL's LLaVA-style `video` (no audio)
KEYS = {"image": "image", "video": "video"}


def _split(text: str) -> list[dict]:
    parts: list[dict] = []
    after_media = False
    for kind, piece in split_on_markers(text, KINDS):
        if kind != "text":
            parts.append(media_part(kind))
            after_media = True
            continue
        if after_media and piece.startswith("\n"):
            piece = piece[1:]
        after_media = False
        if piece:
            parts.append(text_part(piece))
    return parts


def _join(content: list[dict]) -> str:
    out = []
    for p in content:
        if p["type"] == "text":
            out.append(p["text"])
        else:
            out.append(MARKERS[p["type"]] + "\n")
    text = "".join(out)
    # A marker closing the turn has nothing after it: no newline either (read back identically).
    if content and content[-1]["type"] != "text":
        text = text[:-1]
    return text


def to_canonical(raw: dict, ctx: ReadContext) -> dict:
    messages = []
    for path, turn in ctx.objects(ctx.turns(raw, "conversations"), "conversations", "turn"):
        speaker = turn.get("from")
        role = ROLE_MAP.get(speaker) if isinstance(speaker, str) else None  # a list would crash .get
        if role is None:
            ctx.fail("role", "unknown speaker", f"{path}.from", "human|gpt", repr(turn.get("from")))
        text = turn.get("value")
        if not isinstance(text, str):
            ctx.fail("type", "value must be a string", f"{path}.value", "string", json_type(text))
        messages.append({"role": role, "content": normalize_content(_split(text))})
    media = {}
    for kind in KINDS:
        key = KEYS[kind]
        value = raw.get(key)
        listed = [] if value is None else value if isinstance(value, list) else [value]
        n_tokens = sum(p["type"] == kind for m in messages for p in m["content"])
        if n_tokens != len(listed):
            ctx.fail(
                f"{kind}-count",
                f"number of {kind}s ({len(listed)}) does not match number of {MARKERS[kind]} tokens ({n_tokens})",
                f"$.{key}",
                str(n_tokens),
                str(len(listed)),
                f"put one {MARKERS[kind]} in the human turn per {kind}",
            )
        media[kind] = [
            ctx.image(v, f"$.{key}" if not isinstance(value, list) else f"$.{key}[{k}]")
            for k, v in enumerate(listed)
        ]
    return make_record(ctx.record_id(raw), messages, media["image"], ctx.record_source(raw), media["video"])


def from_canonical(rec: dict, ctx: WriteContext, multi_image: bool = False) -> tuple[dict, list[str]]:
    messages, changes = literal_marker_changes(rec)
    if messages and messages[0]["role"] == "system":
        changes.append("$.messages[0]: system turn dropped (LLaVA has no system turn)")
        messages = messages[1:]
    if rec.get("audios"):
        changes.append(
            f"$.audios: {len(rec['audios'])} audio(s) dropped with their parts (LLaVA has no audio)"
        )
        messages = _without(messages, "audio")
    images = rec["images"]
    if len(images) > 1 and not multi_image:
        changes.append(
            f"$.images: {len(images) - 1} image(s) after the first dropped with their <image> "
            "tokens (LLaVA takes one image per record; --llava-image-list writes a list)"
        )
        messages, images = _keep_first_image(messages), images[:1]
    out: dict = {"id": rec["id"]}
    paths = [ctx.images.add(im) for im in images]
    if paths:
        out["image"] = paths if multi_image and len(paths) > 1 else paths[0]
    videos = [ctx.media("videos").add(v) for v in rec.get("videos") or ()]
    if videos:  # Qwen-VL's LLaVA-style key
        out["video"] = videos if len(videos) > 1 else videos[0]
    out["conversations"] = [{"from": FROM[m["role"]], "value": _join(m["content"])} for m in messages]
    if rec.get("source"):
        out["source"] = rec["source"]
    return out, changes


def _without(messages: list[dict], kind: str) -> list[dict]:
    return [
        {"role": m["role"], "content": normalize_content([p for p in m["content"] if p["type"] != kind])}
        for m in messages
    ]


def _keep_first_image(messages: list[dict]) -> list[dict]:
    seen = 0
    result = []
    for m in messages:
        content = []
        for p in m["content"]:
            if p["type"] == "image":
                seen += 1
                if seen > 1:
                    continue
            content.append(p)
        result.append({"role": m["role"], "content": normalize_content(content)})
    return result


def check(raw: dict) -> tuple[list[Problem], list[ImageRef]]:
    conv = raw.get("conversations")
    if not isinstance(conv, list):
        return [], []
    problems: list[Problem] = []
    turns: list[Turn] = []
    n_marks = n_videos = 0
    for i, m in enumerate(conv):
        if not isinstance(m, dict):
            continue
        text = m.get("value")
        empty = False
        if isinstance(text, str):
            marks = text.count(IMAGE_TOKEN)
            n_marks += marks
            if "<video>" in text:
                n_videos += text.count("<video>")
                marks += 1
            empty = not marks and not text.strip()
        role = m.get("from")
        turns.append((i, ROLE_MAP.get(role) if type(role) is str else None, empty))
    problems.extend(check_turns(turns, "$.conversations", "from"))
    fix = f"put one {IMAGE_TOKEN} in the human turn per image"
    images = counted_media(raw.get("image"), "$.image", n_marks, f"{IMAGE_TOKEN} tokens", fix, problems)
    if n_videos or "video" in raw:
        fix = "put one <video> in the human turn per video"
        videos = counted_media(
            raw.get("video"), "$.video", n_videos, "<video> tokens", fix, problems, "video"
        )
        images = images + videos
    return problems, images


def sidecar(name: str, files: dict[str, str]) -> dict[str, bytes]:
    return {}
