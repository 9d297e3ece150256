"""ShareGPT as LLaMA-Factory reads it, with `<image>` markers in the text and image paths alongside.

    {"id": "r1",
     "messages": [{"role": "user", "content": "<image>What is it?"},
                  {"role": "assistant", "content": "A cat."}],
     "images": ["images/3f2a.jpg"]}

Also read: the from/value variant (`conversations: [{"from": "human", "value": ...}]`, tags human/gpt/
system), a `system` column, and whatever `columns`/`tags` a dataset_info.json entry names. The writer
uses role/content and writes a dataset_info.json entry (see `dataset_info_entry`) listing every column
and tag, because LLaMA-Factory turns any key left out of `columns`/`tags` into None.
"""

from __future__ import annotations

from vlmdata.checks import ImageRef, Turn, check_turns, counted_media, marker_media
from vlmdata.errors import Location, Problem, json_type
from vlmdata.formats.base import (
    IMAGE_TOKEN,
    MARKERS,
    ReadContext,
    WriteContext,
    count_markers,
    split_on_markers,
)
from vlmdata.record import MEDIA, make_record, media_part, normalize_content, text_part

NAME = "sharegpt"
SUFFIX = ".json"  # one JSON list, as LLaMA-Factory's examples ship it
SCHEMA = "sharegpt"
CANONICAL = False
arrow_shape = arrow_check = None  # no columnar pass: validate checks record by record
WRITER_OPTIONS: tuple = ()  # none (see formats.base.WriterOption)
DEFAULT_ROLE_MAP = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
}
WRITE_COLUMNS = {"messages": "messages", "images": "images"}
WRITE_TAGS = {
    "role_tag": "role",
    "content_tag": "content",
    "user_tag": "user",
    "assistant_tag": "assistant",
    "system_tag": "system",
}


def detect(raw: dict) -> bool:
    messages = raw.get("messages", raw.get("conversations"))
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        return False
    first = messages[0]
    if "messages" in raw:
        return isinstance(first.get("content"), str)
    return "images" in raw or "role" in first  # conversations without `images` and with from/value is LLaVA


def split_markers(text: str) -> list[dict]:
    """ "<image>What is it?" -> [{"type": "image"}, {"type": "text", "text": "What is it?"}]
    (also <video> and <audio>, LLaMA-Factory's markers for its videos/audios columns)"""
    return [
        text_part(piece) if kind == "text" else media_part(kind) for kind, piece in split_on_markers(text)
    ]


def system_marker(text: str, path: str) -> Problem | None:
    """LLaMA-Factory takes the system prompt (a `system` column, or a first turn with the system tag) apart
    from the turns and replaces `<image>`/`<video>`/`<audio>` only in the turns (mm_plugin's
    `process_messages` and `_validate_messages` see prompt + response): a marker there would stay text
    and go uncounted."""
    found = [m for m in MARKERS.values() if m in text]
    if not found:
        return None
    return Problem(
        "image-marker",
        f"{found[0]} in the system prompt stays text in LLaMA-Factory (it places media in the turns only)",
        Location(path=path),
        "no media marker in the system prompt",
        ", ".join(found),
        "move the marker into the user turn the media belongs to",
    )


def join_markers(content: list[dict]) -> str:
    return "".join(p["text"] if p["type"] == "text" else MARKERS[p["type"]] for p in content)


def _tags(raw_messages: list, ctx: ReadContext) -> tuple[str, str, dict]:
    tags = ctx.tags
    first = raw_messages[0] if raw_messages and isinstance(raw_messages[0], dict) else {}
    role_tag = tags.get("role_tag") or ("role" if "role" in first else "from")
    content_tag = tags.get("content_tag") or ("content" if "content" in first else "value")
    role_map = dict(DEFAULT_ROLE_MAP)
    for tag, role in (("user_tag", "user"), ("assistant_tag", "assistant"), ("system_tag", "system")):
        if tags.get(tag):
            role_map[tags[tag]] = role
    return role_tag, content_tag, role_map


def to_canonical(raw: dict, ctx: ReadContext) -> dict:
    key = ctx.columns.get("messages") or ("messages" if "messages" in raw else "conversations")
    raw_messages = ctx.turns(raw, key)
    role_tag, content_tag, role_map = _tags(raw_messages, ctx)
    messages = []
    system_key = ctx.columns.get("system") or "system"
    system = raw.get(system_key)
    if system is not None and not isinstance(system, str):
        ctx.fail("type", "system must be a string", f"$.{system_key}", "string", json_type(system))
    if system:
        messages.append({"role": "system", "content": [text_part(system)]})
        bad = system_marker(system, f"$.{system_key}")
        if bad:
            ctx.fail(bad.code, bad.message, bad.where.path, bad.expected, bad.found, bad.fix)
    for path, message in ctx.objects(raw_messages, key, "message"):
        tag = message.get(role_tag)
        role = role_map.get(tag) if isinstance(tag, str) else None  # a list would crash .get
        if role is None:
            ctx.fail(
                "role",
                "unknown role",
                f"{path}.{role_tag}",
                "|".join(sorted(role_map)),
                repr(message.get(role_tag)),
                "tool turns (observation, function_call) are not supported yet",
            )
        text = message.get(content_tag)
        if not isinstance(text, str):
            ctx.fail("type", "content must be a string", f"{path}.{content_tag}", "string", json_type(text))
        if role == "system":
            bad = system_marker(text, f"{path}.{content_tag}")
            if bad:
                ctx.fail(bad.code, bad.message, bad.where.path, bad.expected, bad.found, bad.fix)
        messages.append({"role": role, "content": normalize_content(split_markers(text))})
    media = {}
    for kind in MEDIA:
        key = ctx.columns.get(f"{kind}s") or f"{kind}s"
        listed = raw.get(key)
        listed = [] if listed is None else listed  # `images: false` is an error, not "no images"
        if isinstance(listed, str):
            listed = [listed]
        if not isinstance(listed, list):
            ctx.fail("type", f"{kind}s must be a list", f"$.{key}", "array", json_type(listed))
        n_markers = sum(p["type"] == kind for m in messages for p in m["content"])
        if n_markers != len(listed):
            ctx.fail(
                f"{kind}-count" if kind != "image" else "image-count",
                f"number of {kind}s ({len(listed)}) does not match number of {MARKERS[kind]} "
                f"placeholders ({n_markers})",
                f"$.{key}",
                str(n_markers),
                str(len(listed)),
                f"put one {MARKERS[kind]} in the text per {kind}",
            )
        media[kind] = [ctx.image(v, f"$.{key}[{k}]") for k, v in enumerate(listed)]
    return make_record(
        ctx.record_id(raw), messages, media["image"], ctx.record_source(raw), media["video"], media["audio"]
    )


def literal_marker_changes(rec: dict) -> tuple[list[dict], list[str]]:
    """Text that contains a literal `<image>` can't be told apart from a placeholder: rewrite it as
    `<image >` (counted as a change) so the image count stays right."""
    changes: list[str] = []
    messages = []
    for i, m in enumerate(rec["messages"]):
        content = []
        for p in m["content"]:
            if p["type"] == "text" and "<" in p["text"]:
                for marker in MARKERS.values():
                    if marker in p["text"]:
                        spaced = marker[:-1] + " >"
                        changes.append(f"$.messages[{i}]: literal {marker} in text rewritten as '{spaced}'")
                        p = text_part(p["text"].replace(marker, spaced))
            content.append(p)
        messages.append({"role": m["role"], "content": content})
    return messages, changes


def from_canonical(rec: dict, ctx: WriteContext) -> tuple[dict, list[str]]:
    messages, changes = literal_marker_changes(rec)
    out = {
        "id": rec["id"],
        "messages": [{"role": m["role"], "content": join_markers(m["content"])} for m in messages],
        "images": [ctx.images.add(im) for im in rec["images"]],
    }
    for key in ("videos", "audios"):
        if rec.get(key):  # only when present: LLaMA-Factory indexes every column its entry names
            out[key] = [ctx.media(key).add(m) for m in rec[key]]
    if rec.get("source"):
        out["source"] = rec["source"]
    return out, changes


def sidecar(name: str, files: dict[str, tuple[str, set]]) -> dict[str, bytes]:
    """dataset_info.json for a written folder: one entry per split file ({"train": ("train.json",
    {"videos"})}: the file and the media columns its records have), the train split named after the
    folder (`name`), others `name_split`."""
    import orjson

    entry = name.replace("-", "_") or "dataset"
    info = {
        (entry if split == "train" else f"{entry}_{split}"): dataset_info_entry(file, media)
        for split, (file, media) in sorted(files.items())
    }
    return {"dataset_info.json": orjson.dumps(info, option=orjson.OPT_INDENT_2) + b"\n"}


def dataset_info_entry(file_name: str, media=()) -> dict:
    """The dataset_info.json entry LLaMA-Factory needs to load one written file unchanged; `media`: the
    videos/audios columns the file has (LLaMA-Factory reads those only when `columns` names them)."""
    return {
        "file_name": file_name,
        "formatting": "sharegpt",
        "columns": {**WRITE_COLUMNS, **{k: k for k in ("videos", "audios") if k in media}},
        "tags": dict(WRITE_TAGS),
    }


def check(raw: dict) -> tuple[list[Problem], list[ImageRef]]:
    key = "messages" if "messages" in raw else "conversations"
    messages = raw.get(key)
    if not isinstance(messages, list):
        return [], []
    problems: list[Problem] = []
    turns: list[Turn] = []
    system = raw.get("system")
    if isinstance(system, str) and system:
        turns.append((-1, "system", False))
        bad = system_marker(system, "$.system")
        if bad:
            problems.append(bad)
    first = messages[0] if messages and isinstance(messages[0], dict) else {}
    role_tag = "role" if "role" in first else "from"
    content_tag = "content" if "content" in first else "value"
    n_marks = 0
    other = {"video": 0, "audio": 0}
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            continue
        if role_tag not in m and i:
            problems.append(
                Problem(
                    "role",
                    "turn uses other keys than the first turn",
                    Location(path=f"$.{key}[{i}]"),
                    f"{role_tag}/{content_tag} like the first turn",
                    "/".join(sorted(m)) or "no keys",
                    "use the same keys in every turn",
                )
            )
        text = m.get(content_tag)
        empty = False
        role = m.get(role_tag)
        if isinstance(text, str) and type(role) is str and DEFAULT_ROLE_MAP.get(role) == "system":
            bad = system_marker(text, f"$.{key}[{i}].{content_tag}")
            if bad:  # not counted: LLaMA-Factory counts markers in the turns only
                problems.append(bad)
                text = text.replace(IMAGE_TOKEN, "").replace("<video>", "").replace("<audio>", "")
        if isinstance(text, str):
            marks = text.count(IMAGE_TOKEN)
            n_marks += marks
            if "<video>" in text or "<audio>" in text:
                for kind, n in count_markers(text).items():
                    if kind in other:
                        other[kind] += n
                        marks += n
            empty = not marks and not text.strip()
        turns.append((i, DEFAULT_ROLE_MAP.get(role) if type(role) is str else None, empty))
    problems.extend(check_turns(turns, f"$.{key}", role_tag))
    fix = f"put one {IMAGE_TOKEN} in the text per image"
    images = counted_media(
        raw.get("images"), "$.images", n_marks, f"{IMAGE_TOKEN} placeholders", fix, problems
    )
    if other["video"] or other["audio"] or "videos" in raw or "audios" in raw:
        media_problems, refs = marker_media(raw, other)
        problems += media_problems
        images = images + refs
    return problems, images
