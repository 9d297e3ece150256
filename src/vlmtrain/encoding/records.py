"""Canonical records as the families read them: images decoded, template messages, image-count check.

decode_images([{"bytes": b"...", "path": "a.png"}, <PIL.Image>]) -> [<PIL.Image RGB>, <PIL.Image RGB>]
to_template_messages(record["messages"]) -> [{"role": "user", "content": [{"type": "image"}, ...]}]
"""

from __future__ import annotations

import io

from vlmtrain.errors import VlmTrainError


def check_video_count(record: dict) -> None:
    n_parts = sum(p["type"] == "video" for m in record["messages"] for p in m["content"])
    n_videos = len(record.get("videos") or [])
    if n_parts != n_videos:
        raise VlmTrainError(
            f"record {record.get('id')!r}: {n_parts} video part(s) in messages but {n_videos} video(s); "
            "the k-th video part takes videos[k] (`vlmdata validate` finds these)"
        )


def check_image_count(record: dict, images: list) -> None:
    n_parts = sum(p["type"] == "image" for m in record["messages"] for p in m["content"])
    if n_parts != len(images):
        raise VlmTrainError(
            f"record {record.get('id')!r}: {n_parts} image part(s) in messages but {len(images)} image(s); "
            "the k-th image part takes images[k] (`vlmdata validate` finds these)"
        )


def to_template_messages(
    messages: list[dict], string_roles: tuple[str, ...] = (), one_part_roles: tuple[str, ...] = ()
) -> list[dict]:
    """Canonical messages -> chat-template messages: typed parts ({"type": "image"}, {"type": "text",
    "text": ...}; no None text), or, for the roles in `string_roles`, the turn's texts joined into one
    string (the family's `string_content_roles`, for templates that print a list of parts as a Python list),
    or, for the roles in `one_part_roles`, those texts joined into one text part (the family's
    `one_part_roles`, for templates that read only `content[0]['text']` and take no string there):

        [{"role": "system", "content": [{"type": "text", "text": "Be terse."}]}], ("system",)
          -> [{"role": "system", "content": "Be terse."}]
        [{"role": "system", "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]}],
        (), ("system",)
          -> [{"role": "system", "content": [{"type": "text", "text": "AB"}]}]
    """
    out = []
    for m in messages:
        if m["role"] in string_roles or m["role"] in one_part_roles:
            content = "".join(p["text"] for p in m["content"] if p["type"] == "text")
            if m["role"] in one_part_roles:
                content = [{"type": "text", "text": content}]
        else:
            content = [
                {"type": p["type"]}
                if p["type"] in ("image", "video")
                else {"type": "text", "text": p["text"]}
                for p in m["content"]
            ]
        out.append({"role": m["role"], "content": content})
    return out


def decode_images(images: list, record_id=None) -> list:
    """PIL images or {"bytes","path"} dicts -> RGB PIL images. An RGB PIL image (one the training
    collator already decoded, `vlmtrain.data.decode_record`) is returned as it is: no second decode or
    conversion."""
    from PIL import Image, ImageOps

    out = []
    for i, img in enumerate(images):
        if isinstance(img, dict):
            what = img.get("path") or "embedded bytes"
            try:
                if img.get("bytes"):
                    img = Image.open(io.BytesIO(img["bytes"]))
                elif img.get("path"):
                    img = Image.open(img["path"])
                else:
                    raise OSError("neither bytes nor path")
                img.load()
                # As `datasets` decodes them (and as `vlmtrain check` counts them): EXIF orientation applied.
                if img.getexif().get(0x0112) is not None:
                    img = ImageOps.exif_transpose(img)
            except OSError as exc:
                # PIL's message names a BytesIO object for embedded bytes: say which image instead.
                reason = str(exc).split(" <_io.")[0] if "<_io." in str(exc) else str(exc)
                raise VlmTrainError(
                    f"record {record_id!r} $.images[{i}] ({what}): cannot decode image: {reason}"
                ) from exc
        out.append(img.convert("RGB") if img.mode != "RGB" else img)
    return out
