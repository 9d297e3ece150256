"""OpenAI messages with typed content parts, as TRL, fms-hf-tuning and llama-cookbook use them.

    {"id": "r1",
     "messages": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is it?"}]},
                  {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]}],
     "images": ["images/3f2a.jpg"]}

Read also: content as a plain string; inline `{"type": "image", "image": path | {"url": path}}` (xtuner);
OpenAI API `{"type": "image_url", "image_url": {"url": path | data-URL}}`; LLaMA-Factory v1
`{"type": "image_url", "value": path}` and `{"type": "text", "value": ...}`; oumi's `content` in place of
`value`; `{"type": "image", "index": k}` (HuggingFaceH4/llava-instruct-mix-vsft); `{"type": "video"}` and
`{"type": "audio"}` parts with a `videos`/`audios` list (or the media inline). The k-th image part is the
k-th image, the k-th video part the k-th video. In a record whose text holds xtuner's `<IMG_CONTEXT>`,
each marker is where an image stands and the `image_url` parts give the images' order, as xtuner reads
it (formats.context_markers).
"""

from __future__ import annotations

from vlmdata.checks import ImageRef, Turn, check_turns, count_problem, listed_images
from vlmdata.errors import Location, Problem, json_type
from vlmdata.formats import context_markers
from vlmdata.formats.base import ReadContext, WriteContext
from vlmdata.record import MEDIA, ROLES, make_record, media_part, normalize_content, text_part

NAME = "oai"
SUFFIX = ".jsonl"  # one record per line, as TRL's and fms-hf-tuning's JSON loaders stream it
SCHEMA = "oai"
CANONICAL = False  # records are read and written through to_canonical/from_canonical
WRITER_OPTIONS: tuple = ()  # none (see formats.base.WriterOption)


def detect(raw: dict) -> bool:
    messages = raw.get("messages")
    return isinstance(messages, list) and any(
        isinstance(m, dict) and isinstance(m.get("content"), list) for m in messages
    )


# part type -> the media kind it carries: "image_url" is the OpenAI API's image part (xtuner's too);
# LLaMA-Factory v1 writes "image_url"/"video_url"/"audio_url" with a `value`; oumi writes "image_url",
# "image_path" (a path in `content`) and "image_binary" (base64 bytes in `binary`); xtuner "video_url"
PART_KINDS = {
    "image": "image",
    "image_url": "image",
    "image_path": "image",
    "image_binary": "image",
    "video": "video",
    "video_url": "video",
    "audio": "audio",
    "audio_url": "audio",
}
BARE = ("image", "video", "audio")  # parts that may point into the record's images/videos/audios list


def _inline(part: dict, kind: str):
    """The media a part carries itself, or None when it points into the record's images/videos/audios."""
    if kind in BARE:
        return part.get(kind)
    if kind == "image_binary":  # oumi: the image's bytes as base64, `content` its path if any
        data = part.get("binary")
        return None if data is None else {"bytes": data, "path": part.get("content")}
    url = part.get(kind)
    if isinstance(url, dict):
        return url.get("url")
    if url is not None:
        return url
    return part.get("value", part.get("content"))  # LLaMA-Factory v1: value; oumi: content


IMAGE_TYPES = tuple(t for t, kind in PART_KINDS.items() if kind == "image")


def _listed(raw: dict, kind: str):
    """The record's own list of `kind`s: `images` (`videos`, `audios`), or TRL's single `image` column
    (its collator reads `{"image": x}` as `{"images": [x]}`)."""
    value = raw.get(f"{kind}s")
    if value is None and kind == "image" and "image" in raw:
        return [raw["image"]]
    return value


def _text(part: dict):
    return part.get("text", part.get("value", part.get("content")))


def to_canonical(raw: dict, ctx: ReadContext) -> dict:
    messages_in = ctx.turns(raw, "messages")
    marked = context_markers.has_marker(messages_in)
    inline: dict[str, list[dict]] = {kind: [] for kind in MEDIA}
    messages = []
    for mpath, message in ctx.objects(messages_in, "messages", "message"):
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
                text = _text(part)
                if not isinstance(text, str):
                    ctx.fail("type", "text part needs a string", f"{ppath}.text", "string", json_type(text))
                parts.append(text_part(text))
            elif kind in PART_KINDS:
                media = PART_KINDS[kind]
                value = _inline(part, kind)
                if value is None and kind not in BARE:  # unlike {"type": "image"}, it must say where
                    field = "binary" if kind == "image_binary" else kind
                    ctx.fail(
                        "missing-field", f"{kind} part has no {'data' if field == 'binary' else 'URL'}",
                        f"{ppath}.{field}", "a URL" if field != "binary" else "base64 bytes", "null",
                    )  # fmt: skip
                if value is not None:
                    inline[media].append(ctx.image(value, ppath))
                parts.append(media_part(media))
            else:
                ctx.fail(
                    "part-type",
                    "unknown content part type",
                    f"{ppath}.type",
                    "|".join(["text", *PART_KINDS]),
                    repr(kind),
                )
        messages.append({"role": role, "content": normalize_content(parts)})
    if marked:
        listed = _listed(raw, "image")
        for p in context_markers.problems(
            messages_in, len(listed) if isinstance(listed, list) else 0, IMAGE_TYPES
        ):
            ctx.fail(p.code, p.message, p.where.path, p.expected, p.found, p.fix)
        messages = [
            {"role": m["role"], "content": normalize_content(m["content"])}
            for m in context_markers.place_images(messages)
        ]
    media = {kind: _media_list(raw, ctx, messages, kind, inline[kind]) for kind in MEDIA}
    return make_record(
        ctx.record_id(raw), messages, media["image"], ctx.record_source(raw), media["video"], media["audio"]
    )


def _media_list(
    raw: dict, ctx: ReadContext, messages: list[dict], kind: str, inline: list[dict]
) -> list[dict]:
    key = f"{kind}s"
    listed = _listed(raw, kind)
    at = f"$.{key}" if key in raw or listed is None else f"$.{kind}"  # `image`: TRL's single column
    listed = [] if listed is None else listed  # `images: false` is an error, not "no images"
    if not isinstance(listed, list):
        ctx.fail("type", f"{key} must be a list", at, "array", json_type(listed))
    n_parts = sum(p["type"] == kind for m in messages for p in m["content"])
    if inline and listed:
        ctx.fail(
            f"{kind}-count", f"{key} given both inline in parts and in the {key} list", at,
            "one of the two", "both",
        )  # fmt: skip
    found = inline or [ctx.image(v, at if at == f"$.{kind}" else f"{at}[{k}]") for k, v in enumerate(listed)]
    if n_parts != len(found):
        ctx.fail(
            f"{kind}-count",
            f"number of {key} ({len(found)}) does not match number of {kind} parts ({n_parts})",
            at,
            str(n_parts),
            str(len(found)),
            f"add a {kind} part per {kind}, or list one {kind} per part",
        )
    return found


def from_canonical(rec: dict, ctx: WriteContext) -> tuple[dict, list[str]]:
    messages = [
        {
            "role": m["role"],
            "content": [
                {"type": "text", "text": p["text"]} if p["type"] == "text" else {"type": p["type"]}
                for p in m["content"]
            ],
        }
        for m in rec["messages"]
    ]
    out = {"id": rec["id"], "messages": messages, "images": [ctx.images.add(im) for im in rec["images"]]}
    for key in ("videos", "audios"):
        if rec.get(key):
            out[key] = [ctx.media(key).add(m) for m in rec[key]]
    if rec.get("source"):
        out["source"] = rec["source"]
    return out, []


def check(raw: dict) -> tuple[list[Problem], list[ImageRef]]:
    messages = raw.get("messages")
    if type(messages) is not list:
        return [], []
    turns: list[Turn] = []
    inline: list[ImageRef] = []
    n_images = 0
    other: dict[str, int] = {}  # video/audio parts (rare: counted apart to keep the common case fast)
    for i, m in enumerate(messages):
        if type(m) is not dict:
            continue
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
                        value = part.get("text")
                        if value is None:
                            value = _text(part)
                        empty = not (type(value) is str and value.strip())
                elif kind in PART_KINDS:
                    empty = False
                    media = PART_KINDS[kind]
                    if media == "image":
                        n_images += 1
                    else:
                        other[media] = other.get(media, 0) + 1
                    value = _inline(part, kind)
                    if value is not None:
                        inline.append((f"$.messages[{i}].content[{j}]", value, media))
        role = m.get("role")
        turns.append((i, role if role in ROLES else None, empty))
    problems = check_turns(turns, "$.messages", "role")
    listed = _listed(raw, "image")  # xtuner's <IMG_CONTEXT>: where the images stand, whether they all do
    problems += context_markers.problems(messages, len(listed) if type(listed) is list else 0, IMAGE_TYPES)
    refs: list[ImageRef] = []
    for media in ("image", *other) if not ("videos" in raw or "audios" in raw) else MEDIA:
        n_parts = n_images if media == "image" else other.get(media, 0)
        key = f"{media}s"
        listed = raw.get(key)
        at = f"$.{key}"
        if listed is None and media == "image" and "image" in raw:  # TRL's single `image` column
            at = "$.image"
            listed = [(at, raw["image"], media)]
        else:
            listed = listed_images(listed, at, media) if type(listed) is list else []
        mine = [r for r in inline if r[2] == media] if inline else inline
        if mine and listed:
            problems.append(
                Problem(
                    f"{media}-count",
                    f"{key} given both inline in parts and in the {key} list",
                    Location(path=at),
                    "one of the two",
                    "both",
                )
            )
        found = mine or listed
        if n_parts != len(found):
            problems.append(
                count_problem(
                    len(found),
                    n_parts,
                    f"{media} parts",
                    at,
                    f"add a {media} part per {media}, or list one {media} per part",
                    media,
                )  # fmt: skip
            )
        refs += found
    return problems, refs


def arrow_shape():
    """The common layout as an Arrow schema, for validate's columnar pass (vlmdata.validate.columnar):
    string ids, parts with only type and text, images as a list of paths. A file with anything else
    (integer ids, inline or video parts, string content, extra keys) is checked record by record."""
    import pyarrow as pa

    part = pa.struct([("type", pa.string()), ("text", pa.string())])
    message = pa.struct([("role", pa.string()), ("content", pa.list_(part))])
    return pa.schema(
        [("id", pa.string()), ("messages", pa.list_(message)), ("images", pa.list_(pa.string())),
         ("source", pa.string())]
    )  # fmt: skip


def arrow_check(table):
    """Records of an `arrow_shape` table the schema and `check` would pass, up to their image checks.

    table: n rows -> (suspect bool [n]: rows to check one by one (they may be fine: a text without a
    printable ASCII character, or one holding xtuner's `<IMG_CONTEXT>`, is left to the per-record
    checks), image_rows int [K] and image_codes
    int [K] into image_values [str]: every listed image of the other rows, for the image checks).
    Nulls stand for missing keys, so a null where the schema wants a value makes the row suspect.
    """
    import numpy as np
    import pyarrow.compute as pc

    from vlmdata.checks import fine_turn_sequences
    from vlmdata.columns import bits, codes, ints, offsets, printable, valid

    def any_of(rows, flags, n):  # per parent: does any child have the flag
        return np.bincount(rows[flags], minlength=n) > 0

    n = table.num_rows
    messages = table.column("messages").combine_chunks()
    suspect = ~valid(messages)
    msg_rec = ints(pc.list_parent_indices(messages))
    flat = pc.list_flatten(messages)
    n_msgs = len(flat)
    role = codes(pc.struct_field(flat, "role"), ROLES)
    content = pc.struct_field(flat, "content")
    bad_msg = ~valid(flat) | (role < 0) | ~valid(content)
    part_msg = ints(pc.list_parent_indices(content))
    parts = pc.list_flatten(content)
    kind = codes(pc.struct_field(parts, "type"), ("text", "image"))
    texts = pc.struct_field(parts, "text")
    is_text, is_image = kind == 0, kind == 1
    has_text = valid(texts)
    bad_part = ~valid(parts) | (kind < 0) | (is_text & ~has_text)
    # str.strip() decides emptiness; a printable ASCII character answers it for nearly every text
    spoken = is_text & printable(texts)
    for k in np.flatnonzero(is_text & has_text & ~spoken).tolist():
        spoken[k] = bool(texts[k].as_py().strip())
    filled = any_of(part_msg, is_image | spoken, n_msgs)
    bad_part |= bits(pc.match_substring(texts, context_markers.MARKER))  # xtuner's marker: checked alone
    bad_msg |= any_of(part_msg, bad_part, n_msgs)
    suspect |= any_of(msg_rec, bad_msg, n)
    suspect |= ~fine_turn_sequences(msg_rec, role.clip(0), ~filled, n)
    images = table.column("images").combine_chunks()
    image_rows = ints(pc.list_parent_indices(images))
    suspect |= np.bincount(msg_rec[part_msg[is_image]], minlength=n) != np.bincount(image_rows, minlength=n)
    values = pc.list_flatten(images)
    encoded = pc.dictionary_encode(values)
    dictionary = encoded.dictionary
    image_codes = ints(encoded.indices, null=-1)
    empty = np.append(np.diff(offsets(dictionary)) == 0, True)  # the schema's minLength 1; -1: null
    suspect |= any_of(image_rows, empty[image_codes], n)
    keep = ~suspect[image_rows]
    return suspect, image_rows[keep], image_codes[keep], dictionary.to_pylist()


def sidecar(name: str, files: dict[str, str]) -> dict[str, bytes]:
    return {}
