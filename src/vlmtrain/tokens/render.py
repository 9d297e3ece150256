"""Layer 2 (token counting): reference token ids: what the real processor gives for one record (the slow route
the counts must equal).

    reference_ids(processor, record, family)  -> family.encode_one(...)["input_ids"][0]   (the collator's ids)
    reference_ids(processor, record)          -> processor(text=[chat template render], images=[[...]])

With a family, the ids are the collator's own (`Family.encode_one`); without one, the bare processor on
its own chat template's render, as a user of transformers would call it (tests and benchmarks compare
the family layer against that independent reference).
"""

from __future__ import annotations


def template_messages(record: dict) -> list[dict]:
    """Canonical messages with None-valued keys dropped (templates test `'text' in part`)."""
    return [
        {
            "role": m["role"],
            "content": [{k: v for k, v in part.items() if v is not None} for part in m["content"]],
        }
        for m in record["messages"]
    ]


def render_text(processor, record: dict) -> str:
    """The processor's own chat template over the record (no generation prompt), with the date the
    processor was loaded for (`encoding.template_date`)."""
    from vlmtrain.encoding.template_date import render_template

    return render_template(processor, template_messages(record), False)


def decode_images(record: dict) -> list:
    """The record's images as the collator decodes them (EXIF orientation applied, as `datasets` does)."""
    from vlmtrain.encoding.records import decode_images as decode

    return decode(record.get("images") or [], record.get("id"))


def reference_ids(
    processor,
    record: dict,
    family=None,
    max_pixels: int | None = None,
    images: list | None = None,
    train_on_prompt: bool = False,
) -> list[int]:
    """input_ids from the real processor (decodes every image).

    family: a Family -> its `encode_one(processor, record)` (the collator's ids); None -> the bare
    `processor(text=[rendered], images=[[...]])`. `images` replaces the record's (stand-ins for
    families whose count does not depend on image size).
    """
    if images is None:
        images = decode_images(record)
        if max_pixels:
            from vlmtrain.tokens.headers import cap_size

            images = [im.resize(cap_size(im.width, im.height, max_pixels)) for im in images]
    if family is not None:
        out = family.encode_one(processor, {**record, "images": images}, train_on_prompt)
    else:
        out = processor(text=[render_text(processor, record)], images=[images] if images else None)
    return list(out["input_ids"][0])


def reference_length(processor, record: dict, family=None, max_pixels: int | None = None) -> int:
    return len(reference_ids(processor, record, family, max_pixels))
