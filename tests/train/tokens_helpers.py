"""Records with images of given sizes, stored as PNG bytes the way our shards hold them."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GRANITE_DIR = FIXTURES / "granite_vision_processor"


def granite_tokenizer_with_gemma3_tokens():
    """The Granite BPE tokenizer (a real GPT-2-style vocabulary) with Gemma3's image tokens added, for
    Gemma3 processors whose whitespace around images must merge as a real BPE merges it."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(
        str(GRANITE_DIR),
        extra_special_tokens={
            "boi_token": "<start_of_image>",
            "eoi_token": "<end_of_image>",
            "image_token": "<image_soft_token>",
        },
    )


def png_bytes(width: int, height: int, color: str = "gray", exif_orientation: int | None = None) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", (width, height), color)
    if exif_orientation is None:
        img.save(buf, format="PNG")
    else:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        img.save(buf, format="JPEG", exif=exif)
    return buf.getvalue()


def record(
    sizes,
    rid: str = "r",
    question: str = "What is in the picture?",
    answer: str = "A gray box.",
    exif_orientation: int | None = None,
) -> dict:
    images = [
        {"bytes": png_bytes(w, h, exif_orientation=exif_orientation), "path": f"{rid}-{k}.png"}
        for k, (w, h) in enumerate(sizes)
    ]
    user = [{"type": "image", "text": None} for _ in sizes] + [{"type": "text", "text": question}]
    return {
        "id": rid,
        "messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": [{"type": "text", "text": answer}]},
        ],
        "images": images,
        "source": "test",
    }


def write_shard(directory: Path, records: list[dict], split: str = "train") -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vlmdata.record import ARROW_SCHEMA

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{split}-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(records, schema=ARROW_SCHEMA), path)
    return path
