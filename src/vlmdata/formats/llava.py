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

from vlmdata.checks import ImageRef, Turn, check_turns, count_problem, listed_images
from vlmdata.errors import Problem, json_type
from vlmdata.formats.base import IMAGE_TOKEN, ReadContext, WriteContext
from vlmdata.formats.sharegpt import literal_marker_changes
from vlmdata.record import image_part, make_record, normalize_content, text_part

NAME = "llava"
SUFFIX = ".json"  # one JSON list, as LLaVA's llava_v1_5_mix665k.json
SCHEMA = "llava"
CANONICAL = False
WRITER_OPTIONS = {"llava_image_list": "multi_image"}  # --llava-image-list: several images as a list
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


def _split(text: str) -> list[dict]:
    parts: list[dict] = []
    for k, piece in enumerate(text.split(IMAGE_TOKEN)):
        if k:
            parts.append(image_part())
            if piece.startswith("\n"):
                piece = piece[1:]
        if piece:
            parts.append(text_part(piece))
    return parts


def _join(content: list[dict]) -> str:
    out = []
    for p in content:
        if p["type"] == "image":
            out.append(IMAGE_TOKEN + "\n")
        else:
            out.append(p["text"])
    text = "".join(out)
    # An image closing the turn has nothing after it: no newline either (read back identically).
    if content and content[-1]["type"] == "image":
        text = text[:-1]
    return text


def to_canonical(raw: dict, ctx: ReadContext) -> dict:
    conv = raw.get("conversations")
    if not isinstance(conv, list):
        ctx.fail(
            "missing-field",
            "record has no conversations list",
            "$.conversations",
            "array",
            json_type(conv),
        )
    messages = []
    for i, turn in enumerate(conv):
        path = f"$.conversations[{i}]"
        if not isinstance(turn, dict):
            ctx.fail("type", "turn must be an object", path, "object", json_type(turn))
        speaker = turn.get("from")
        role = ROLE_MAP.get(speaker) if isinstance(speaker, str) else None  # a list would crash .get
        if role is None:
            ctx.fail("role", "unknown speaker", f"{path}.from", "human|gpt", repr(turn.get("from")))
        text = turn.get("value")
        if not isinstance(text, str):
            ctx.fail("type", "value must be a string", f"{path}.value", "string", json_type(text))
        messages.append({"role": role, "content": normalize_content(_split(text))})
    listed = raw.get("image")
    listed = [] if listed is None else listed if isinstance(listed, list) else [listed]
    n_tokens = sum(p["type"] == "image" for m in messages for p in m["content"])
    if n_tokens != len(listed):
        ctx.fail(
            "image-count",
            f"number of images ({len(listed)}) does not match number of {IMAGE_TOKEN} tokens ({n_tokens})",
            "$.image",
            str(n_tokens),
            str(len(listed)),
            f"put one {IMAGE_TOKEN} in the human turn per image",
        )
    images = [
        ctx.image(v, "$.image" if not isinstance(raw.get("image"), list) else f"$.image[{k}]")
        for k, v in enumerate(listed)
    ]
    return make_record(ctx.record_id(raw), messages, images, ctx.record_source(raw))


def from_canonical(rec: dict, ctx: WriteContext, multi_image: bool = False) -> tuple[dict, list[str]]:
    messages, changes = literal_marker_changes(rec)
    if messages and messages[0]["role"] == "system":
        changes.append("$.messages[0]: system turn dropped (LLaVA has no system turn)")
        messages = messages[1:]
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
    out["conversations"] = [{"from": FROM[m["role"]], "value": _join(m["content"])} for m in messages]
    if rec.get("source"):
        out["source"] = rec["source"]
    return out, changes


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
    n_marks = 0
    for i, m in enumerate(conv):
        if not isinstance(m, dict):
            continue
        text = m.get("value")
        empty = False
        if isinstance(text, str):
            marks = text.count(IMAGE_TOKEN)
            n_marks += marks
            empty = not marks and not text.strip()
        role = m.get("from")
        turns.append((i, ROLE_MAP.get(role) if type(role) is str else None, empty))
    problems.extend(check_turns(turns, "$.conversations", "from"))
    images = listed_images(raw.get("image"), "$.image")
    if n_marks != len(images):
        problems.append(
            count_problem(
                len(images),
                n_marks,
                f"{IMAGE_TOKEN} tokens",
                "$.image",
                f"put one {IMAGE_TOKEN} in the human turn per image",
            )
        )
    return problems, images


def sidecar(name: str, files: dict[str, str]) -> dict[str, bytes]:
    return {}
