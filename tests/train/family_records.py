"""Canonical sample records for the family tests: shapes as `datasets` yields them from our shards."""

from __future__ import annotations

import io

from PIL import Image


def image(color: str, size: int = 32) -> Image.Image:
    return Image.new("RGB", (size, size), color)


def png_dict(color: str, size: int = 32) -> dict:
    buf = io.BytesIO()
    image(color, size).save(buf, format="PNG")
    return {"bytes": buf.getvalue(), "path": f"{color}.png"}


def _msg(role, *parts):
    return {
        "role": role,
        "content": [
            {"type": "image", "text": None} if p is None else {"type": "text", "text": p} for p in parts
        ],
    }


SINGLE = {
    "id": "single",
    "messages": [_msg("user", None, "Describe this picture."), _msg("assistant", "A red square.")],
    "images": [image("red")],
    "source": "test",
}
MULTI_TURN = {
    "id": "multi-turn",
    "messages": [
        _msg("system", "You are a helpful assistant."),
        _msg("user", None, "How many objects are there?"),
        _msg("assistant", "There are two objects."),
        _msg("user", "What is in the image?"),
        _msg("assistant", "A small blue circle."),
    ],
    "images": [png_dict("blue", 40)],  # {"bytes","path"} form, decoded by the family
    "source": "test",
}
MULTI_IMAGE = {
    "id": "multi-image",
    "messages": [
        _msg("user", None, None, "Compare the two images."),
        _msg("assistant", "The first one is red and the second one is blue."),
    ],
    "images": [image("red", 56), image("blue", 32)],
    "source": "test",
}
TEXT_ONLY = {
    "id": "text-only",
    "messages": [_msg("user", "Thank you!"), _msg("assistant", "You are welcome.")],
    "images": [],
    "source": "test",
}
# Images in a later user turn, right after an assistant turn: processors that wrap an image in text
# (Gemma3's "\n\n") change the text on both sides of it, next to trained tokens.
LATER_IMAGE = {
    "id": "later-image",
    "messages": [
        _msg("user", None, "Describe this picture."),
        _msg("assistant", "A red square."),
        _msg("user", None, "And this one?"),
        _msg("assistant", "A small blue circle."),
    ],
    "images": [image("red"), png_dict("blue", 40)],
    "source": "test",
}
# A later user turn that is only images (two of them) and ends right before the next assistant turn.
LATER_IMAGES_ONLY = {
    "id": "later-images-only",
    "messages": [
        _msg("system", "You are a helpful assistant."),
        _msg("user", "How many objects are there?"),
        _msg("assistant", "There are two objects."),
        _msg("user", "Compare the two images.", None, None),
        _msg("assistant", "The first one is red and the second one is blue."),
    ],
    "images": [image("red", 56), image("blue", 32)],
    "source": "test",
}
ALL = [SINGLE, MULTI_TURN, MULTI_IMAGE, TEXT_ONLY, LATER_IMAGE, LATER_IMAGES_ONLY]


def assistant_texts(record) -> list[str]:
    return ["".join(p["text"] for p in m["content"]) for m in record["messages"] if m["role"] == "assistant"]
