"""The canonical record: the one shape every format is read into and written from.

    {
      "id": "naruto-000012",
      "messages": [
        {"role": "user", "content": [{"type": "image", "text": None},
                                      {"type": "text", "text": "Describe this picture."}]},
        {"role": "assistant", "content": [{"type": "text", "text": "a man with blue eyes"}]},
      ],
      "images": [{"bytes": b"\\x89PNG...", "path": "0001.png"}],   # k-th image part -> images[k]
      "videos": [{"bytes": None, "path": "/abs/clip.mp4"}],          # k-th video part -> videos[k]
      "audios": [],                                                  # k-th audio part -> audios[k]
      "source": "lambdalabs/naruto-blip-captions",
    }

Normal form: roles system|user|assistant; no empty or adjacent text parts; media parts (image, video,
audio) carry no text. Videos and audios are carried through every format that can express them
(OAI parts, LLaMA-Factory's videos/audios columns, LLaVA-style `video`) and are never decoded here.
In memory an image may hold only a `path` (absolute, resolved by the reader) and no bytes yet; writers
that embed images read the file then. On disk (Parquet) the Arrow type is exactly `datasets`' Image
feature, `struct<bytes: binary, path: string>`, so `datasets.load_dataset("parquet", ...)` decodes it.
"""

from __future__ import annotations

import json
from typing import Any

ROLES = ("system", "user", "assistant")
IMAGE_PART = "image"
TEXT_PART = "text"
MEDIA = ("image", "video", "audio")  # part type -> the record's list: f"{kind}s"
MEDIA_LISTS = tuple(f"{kind}s" for kind in MEDIA)

_STRING = {"dtype": "string", "_type": "Value"}
HF_FEATURES: dict[str, Any] = {
    "id": _STRING,
    "messages": {
        "feature": {
            "role": _STRING,
            "content": {"feature": {"type": _STRING, "text": _STRING}, "_type": "List"},
        },
        "_type": "List",
    },
    "images": {"feature": {"_type": "Image"}, "_type": "List"},
    # plain {bytes, path} structs: datasets' Video/Audio features would decode (torchcodec) on access
    "videos": {"feature": {"bytes": {"dtype": "binary", "_type": "Value"}, "path": _STRING}, "_type": "List"},
    "audios": {"feature": {"bytes": {"dtype": "binary", "_type": "Value"}, "path": _STRING}, "_type": "List"},
    "source": _STRING,
}
# Shards written before videos and audios were carried: read as having none.
LEGACY_HF_FEATURES = {k: v for k, v in HF_FEATURES.items() if k not in ("videos", "audios")}

_ARROW_NAMES = ("IMAGE_TYPE", "PART_TYPE", "MESSAGE_TYPE", "ARROW_SCHEMA", "LEGACY_SCHEMA")


def _arrow_types() -> dict:
    """The Arrow types, built on first use: importing pyarrow costs ~0.3 s that `validate` on JSON
    never needs."""
    import pyarrow as pa

    IMAGE_TYPE = pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])
    PART_TYPE = pa.struct([pa.field("type", pa.string()), pa.field("text", pa.string())])
    MESSAGE_TYPE = pa.struct([pa.field("role", pa.string()), pa.field("content", pa.list_(PART_TYPE))])

    ARROW_SCHEMA = pa.schema(
        [
            pa.field("id", pa.string()),
            pa.field("messages", pa.list_(MESSAGE_TYPE)),
            pa.field("images", pa.list_(IMAGE_TYPE)),
            pa.field("videos", pa.list_(IMAGE_TYPE)),
            pa.field("audios", pa.list_(IMAGE_TYPE)),
            pa.field("source", pa.string()),
        ],
        metadata={"huggingface": json.dumps({"info": {"features": HF_FEATURES}})},
    )
    LEGACY_SCHEMA = pa.schema(
        [f for f in ARROW_SCHEMA if f.name not in ("videos", "audios")],
        metadata={"huggingface": json.dumps({"info": {"features": LEGACY_HF_FEATURES}})},
    )
    return {name: value for name, value in locals().items() if name in _ARROW_NAMES}


def __getattr__(name: str):
    if name in _ARROW_NAMES:
        globals().update(_arrow_types())
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


Record = dict[str, Any]


def text_part(text: str) -> dict:
    return {"type": TEXT_PART, "text": text}


def image_part() -> dict:
    return {"type": IMAGE_PART, "text": None}


def media_part(kind: str) -> dict:
    return {"type": kind, "text": None}


def make_record(
    id: str, messages: list[dict], images: list[dict], source: str = "", videos=(), audios=()
) -> Record:
    return {
        "id": id,
        "messages": messages,
        "images": images,
        "videos": list(videos),
        "audios": list(audios),
        "source": source,
    }


def count_parts(record: Record, kind: str) -> int:
    return sum(1 for m in record["messages"] for p in m["content"] if p["type"] == kind)


def normalize_content(parts: list[dict]) -> list[dict]:
    """Merge adjacent text parts and drop empty ones; image parts lose any text.

    [{"type":"text","text":"a"}, {"type":"text","text":"b"}, {"type":"text","text":""}]
      -> [{"type":"text","text":"ab"}]
    """
    out: list[dict] = []
    for part in parts:
        if part["type"] in MEDIA:
            out.append(media_part(part["type"]))
        elif part.get("text"):
            if out and out[-1]["type"] == TEXT_PART:
                out[-1] = text_part(out[-1]["text"] + part["text"])
            else:
                out.append(text_part(part["text"]))
    return out


def count_image_parts(record: Record) -> int:
    return sum(1 for m in record["messages"] for p in m["content"] if p["type"] == IMAGE_PART)


def message_text(message: dict) -> str:
    return "".join(p["text"] for p in message["content"] if p["type"] == TEXT_PART)
