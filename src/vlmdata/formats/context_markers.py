"""xtuner's `<IMG_CONTEXT>` markers in OpenAI-style messages: where an image stands when the text says so.

xtuner (InternLM/xtuner, `xtuner/v1/datasets/mllm_tokenize_fn/base_mllm_tokenize_fn.py`) reads

    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "resource/dog.jpg"}},
                                 {"type": "text", "text": "<IMG_CONTEXT>\\nWhat color is the dog?"}]}

as the image, then "\\nWhat color is the dog?": its `image_url` parts render as nothing
(`ImageContentItem.apply_chat_template` returns "") and say only which images there are, in order
(`collect_image_video_paths_and_extra`, user turns only); `replace_image_token` swaps the k-th
`<IMG_CONTEXT>` of the user turns' text parts, counted across the whole record, for the k-th image's
tokens, and asserts that markers and images are as many. So here, in a record whose text holds the
marker, each marker becomes an image part where it stands and the `image_url` parts only give the
images' order:

    [image_url a, image_url b, text "<IMG_CONTEXT>\\n<IMG_CONTEXT>\\nSame?"]
      -> [image, text "\\n", image, text "\\nSame?"], images [a, b]

What xtuner would not train on as the record says is refused, with the reason (`problems`):
- markers and images not as many (xtuner: `assert current_image_idx == num_image`, or an IndexError);
- a marker in a system or assistant turn, or in a user turn whose content is a string (xtuner leaves it
  as text: the literal marker is trained, and for InternVL it is the image token, so the count breaks);
- an image part other than `image_url` next to markers (`{"type": "image"}` is xtuner's newer layout,
  where the image stands at its part and a marker would stay text: its converter
  `.dev_scripts/convert_old_to_new_vlm_format.py` deletes the markers);
- an `image_url` part outside a user turn (xtuner never collects it: the image would vanish).
Records without the marker are read as they stand (images at their parts), as before.
"""

from __future__ import annotations

from vlmdata.errors import Location, Problem
from vlmdata.record import image_part, text_part

MARKER = "<IMG_CONTEXT>"
MARKED_PART = "image_url"  # the part type whose images the markers place
_FIX_ORDER = (
    "put one <IMG_CONTEXT> in a user turn's text per image_url part, in the images' order "
    "(or remove every marker to place each image at its part, as xtuner's convert_old_to_new_vlm_format does)"
)


def has_marker(messages) -> bool:
    """Does any text of the record hold the marker? (Cheap: the common record has none.)"""
    for m in messages:
        if type(m) is not dict:
            continue
        content = m.get("content")
        if type(content) is str:
            if MARKER in content:
                return True
        elif type(content) is list:
            for part in content:
                if type(part) is dict:
                    text = _text(part)
                    if type(text) is str and MARKER in text:
                        return True
    return False


def _text(part: dict):
    """The text a text part holds, under any of the keys formats.oai reads (text, value, content)."""
    if part.get("type") != "text":
        return None
    return part.get("text", part.get("value", part.get("content")))


def _text_key(part: dict) -> str:
    return next((k for k in ("text", "value", "content") if k in part), "text")


def problems(messages: list, listed_images: int, image_types: tuple[str, ...]) -> list[Problem]:
    """Why xtuner would not train on this record as its markers say; [] when it would (or when no text
    holds a marker). `messages` is the raw list (values of the wrong type are skipped: the schema
    reports them); `listed_images` is the length of the record's own `images` list, if any;
    `image_types` the part types that carry an image (formats.oai.IMAGE_TYPES)."""
    if not has_marker(messages):
        return []
    found: list[Problem] = []
    n_markers = 0
    n_images = 0
    for i, m in enumerate(messages):
        if type(m) is not dict:
            continue
        user = m.get("role") == "user"
        content = m.get("content")
        if type(content) is str:
            if MARKER in content:
                found.append(_misplaced(f"$.messages[{i}].content", content.count(MARKER), user))
            continue
        if type(content) is not list:
            continue
        for j, part in enumerate(content):
            if type(part) is not dict:
                continue
            path = f"$.messages[{i}].content[{j}]"
            kind = part.get("type")
            text = _text(part)
            if type(text) is str and MARKER in text:
                if user:
                    n_markers += text.count(MARKER)
                else:
                    found.append(_misplaced(f"{path}.{_text_key(part)}", text.count(MARKER), user))
            elif kind in image_types:
                n_images += 1
                if kind != MARKED_PART:
                    found.append(
                        Problem(
                            "image-marker",
                            f"<IMG_CONTEXT> markers place image_url parts (xtuner), not {kind!r} parts",
                            Location(path=f"{path}.type"),
                            repr(MARKED_PART),
                            repr(kind),
                            "make the image parts image_url parts, or remove the markers to place each image "
                            "at its part (xtuner's convert_old_to_new_vlm_format)",
                        )
                    )
                elif not user:
                    found.append(
                        Problem(
                            "image-marker",
                            "xtuner takes image_url parts from user turns only: this image would be lost",
                            Location(path=path),
                            "an image_url part in a user turn",
                            f"one in a {m.get('role')!r} turn",
                            "move the image and its <IMG_CONTEXT> into a user turn",
                        )
                    )
    if listed_images:
        found.append(
            Problem(
                "image-marker",
                "<IMG_CONTEXT> markers place the record's image_url parts, not an images list",
                Location(path="$.images"),
                "images given as image_url parts",
                f"{listed_images} listed image(s)",
                "give each image as an image_url part, or remove the markers",
            )
        )
    elif n_markers != n_images:
        found.append(
            Problem(
                "image-count",
                f"number of images ({n_images}) does not match number of <IMG_CONTEXT> markers ({n_markers}): "
                "xtuner replaces the k-th marker with the k-th image",
                Location(path="$.messages"),
                str(n_markers),
                str(n_images),
                _FIX_ORDER,
            )
        )
    return found


def _misplaced(path: str, count: int, user: bool) -> Problem:
    where = "a user turn's string content" if user else "a system or assistant turn"
    return Problem(
        "image-marker",
        f"<IMG_CONTEXT> in {where} stays text in xtuner (it replaces markers in user turns' text parts only)",
        Location(path=path),
        "no <IMG_CONTEXT> there",
        f"{count} marker(s)",
        "put the marker in a text part of the user turn that holds the image_url part",
    )


def place_images(messages: list[dict]) -> list[dict]:
    """Canonical messages read part by part (image_url parts as image parts, marker text as text) ->
    the same messages with each marker an image part where it stood and the parts' own image parts
    gone. Only for records `problems` passed: markers and image parts are as many, all in user turns."""
    out = []
    for m in messages:
        parts: list[dict] = []
        for p in m["content"]:
            if p["type"] == "image":
                continue
            if p["type"] != "text" or MARKER not in p["text"]:
                parts.append(p)
                continue
            pieces = p["text"].split(MARKER)
            for k, piece in enumerate(pieces):
                if k:
                    parts.append(image_part())
                if piece:
                    parts.append(text_part(piece))
        out.append({"role": m["role"], "content": parts})
    return out
