"""OpenAI messages with typed content parts, as TRL, fms-hf-tuning and llama-cookbook use them.

    {"id": "r1",
     "messages": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is it?"}]},
                  {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]}],
     "images": ["images/3f2a.jpg"]}

Read also: content as a plain string; inline `{"type": "image", "image": path}`; OpenAI API
`{"type": "image_url", "image_url": {"url": path | data-URL}}`; LLaMA-Factory v1
`{"type": "image_url", "value": path}` and `{"type": "text", "value": ...}`; `{"type": "image", "index": k}`
(HuggingFaceH4/llava-instruct-mix-vsft). The k-th image part is the k-th image.
"""

from __future__ import annotations

from vlmdata.checks import ImageRef, Turn, check_turns, count_problem, listed_images
from vlmdata.errors import Location, Problem, json_type
from vlmdata.formats.base import ReadContext, WriteContext
from vlmdata.record import ROLES, image_part, make_record, normalize_content, text_part

NAME = "oai"
SUFFIX = ".jsonl"  # one record per line, as TRL's and fms-hf-tuning's JSON loaders stream it
SCHEMA = "oai"
CANONICAL = False  # records are read and written through to_canonical/from_canonical
WRITER_OPTIONS: dict[str, str] = {}  # CLI option -> from_canonical keyword


def detect(raw: dict) -> bool:
    messages = raw.get("messages")
    return isinstance(messages, list) and any(
        isinstance(m, dict) and isinstance(m.get("content"), list) for m in messages
    )


def _inline_image(part: dict):
    """The image a part carries itself, or None when it points into the record's `images` list."""
    if part.get("type") == "image":
        return part.get("image")
    url = part.get("image_url")
    if isinstance(url, dict):
        return url.get("url")
    return url if url is not None else part.get("value")


def to_canonical(raw: dict, ctx: ReadContext) -> dict:
    messages_in = raw.get("messages")
    if not isinstance(messages_in, list):
        ctx.fail(
            "missing-field", "record has no messages list", "$.messages", "array", json_type(messages_in)
        )
    listed = raw.get("images")
    listed = [] if listed is None else listed  # `images: false` is an error, not "no images"
    if not isinstance(listed, list):
        ctx.fail("type", "images must be a list", "$.images", "array", json_type(listed))
    images: list[dict] = []
    inline: list[dict] = []
    messages = []
    for i, message in enumerate(messages_in):
        mpath = f"$.messages[{i}]"
        if not isinstance(message, dict):
            ctx.fail("type", "message must be an object", mpath, "object", json_type(message))
        role = message.get("role")
        if role not in ROLES:
            ctx.fail("role", "unknown role", f"{mpath}.role", "|".join(ROLES), repr(role))
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            ctx.fail(
                "type",
                "content must be a string or a list of parts",
                f"{mpath}.content",
                "array",
                json_type(content),
            )
        parts = []
        for j, part in enumerate(content):
            ppath = f"{mpath}.content[{j}]"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                text = part.get("text", part.get("value"))
                if not isinstance(text, str):
                    ctx.fail("type", "text part needs a string", f"{ppath}.text", "string", json_type(text))
                parts.append(text_part(text))
            elif kind in ("image", "image_url"):
                value = _inline_image(part)
                if value is None and kind == "image_url":  # unlike {"type": "image"}, it must say where
                    ctx.fail(
                        "missing-field", "image_url part has no URL", f"{ppath}.image_url", "a URL", "null"
                    )
                if value is not None:
                    inline.append(ctx.image(value, ppath))
                parts.append(image_part())
            else:
                ctx.fail(
                    "part-type",
                    "unknown content part type",
                    f"{ppath}.type",
                    "text|image|image_url",
                    repr(kind),
                )
        messages.append({"role": role, "content": normalize_content(parts)})
    n_parts = sum(p["type"] == "image" for m in messages for p in m["content"])
    if inline and listed:
        ctx.fail(
            "image-count",
            "images given both inline in parts and in the images list",
            "$.images",
            "one of the two",
            "both",
        )
    images = inline or [ctx.image(v, f"$.images[{k}]") for k, v in enumerate(listed)]
    if n_parts != len(images):
        ctx.fail(
            "image-count",
            f"number of images ({len(images)}) does not match number of image parts ({n_parts})",
            "$.images",
            str(n_parts),
            str(len(images)),
            "add an image part per image, or list one image per part",
        )
    return make_record(ctx.record_id(raw), messages, images, ctx.record_source(raw))


def from_canonical(rec: dict, ctx: WriteContext) -> tuple[dict, list[str]]:
    messages = [
        {
            "role": m["role"],
            "content": [
                {"type": "image"} if p["type"] == "image" else {"type": "text", "text": p["text"]}
                for p in m["content"]
            ],
        }
        for m in rec["messages"]
    ]
    out = {"id": rec["id"], "messages": messages, "images": [ctx.images.add(im) for im in rec["images"]]}
    if rec.get("source"):
        out["source"] = rec["source"]
    return out, []


def check(raw: dict) -> tuple[list[Problem], list[ImageRef]]:
    messages = raw.get("messages")
    if type(messages) is not list:
        return [], []
    problems: list[Problem] = []
    turns: list[Turn] = []
    inline: list[ImageRef] = []
    n_parts = 0
    for i, m in enumerate(messages):
        if type(m) is not dict:
            continue
        role = m.get("role")
        content = m.get("content")
        empty = False
        if type(content) is str:
            empty = not content.strip()
        elif type(content) is list:
            empty = True
            for j, part in enumerate(content):
                if type(part) is not dict:
                    continue
                kind = part.get("type")
                if kind == "text":
                    if empty:
                        value = part.get("text", part.get("value"))
                        empty = not (type(value) is str and value.strip())
                elif kind == "image" or kind == "image_url":
                    empty = False
                    n_parts += 1
                    if kind == "image":
                        value = part.get("image")
                    else:
                        value = part.get("image_url", part.get("value"))
                        if type(value) is dict:
                            value = value.get("url")
                    if value is not None:
                        inline.append((f"$.messages[{i}].content[{j}]", value))
        turns.append((i, role if role in ROLES else None, empty))
    problems.extend(check_turns(turns, "$.messages", "role"))
    listed = raw.get("images")
    listed = listed_images(listed, "$.images") if isinstance(listed, list) else []
    if inline and listed:
        problems.append(
            Problem(
                "image-count",
                "images given both inline in parts and in the images list",
                Location(path="$.images"),
                "one of the two",
                "both",
            )
        )
    images = inline or listed
    if n_parts != len(images):
        problems.append(
            count_problem(
                len(images),
                n_parts,
                "image parts",
                "$.images",
                "add an image part per image, or list one image per part",
            )
        )
    return problems, images


def sidecar(name: str, files: dict[str, str]) -> dict[str, bytes]:
    return {}
