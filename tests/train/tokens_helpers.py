"""Records with images of given sizes, stored as PNG bytes the way our shards hold them."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GRANITE_DIR = FIXTURES / "granite_vision_processor"


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


# The image part of each family's real checkpoint configuration (preprocessor_config.json, or the
# "image_processor" entry of processor_config.json), as transformers reads it; the counts of the header
# rule must equal the real processor configured exactly so. Keyed by family name; (config, source).
CHECKPOINT_IMAGE_CONFIGS = {
    # Qwen/Qwen3-VL-2B-Instruct and -8B-Instruct preprocessor_config.json (the same values ship with
    # Qwen/Qwen3.5-2B-Base, seen in a dump of that file): 256*256 .. 4096*4096 pixels, patch 16.
    "qwen3_vl": {
        "image_processor_type": "Qwen2VLImageProcessorFast",
        "processor_class": "Qwen3VLProcessor",
        "size": {"longest_edge": 16777216, "shortest_edge": 65536},
        "patch_size": 16,
        "temporal_patch_size": 2,
        "merge_size": 2,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
    },
}
# Qwen/Qwen3.5-2B-Base preprocessor_config.json (seen in a dump of the file): Qwen3-VL's values.
CHECKPOINT_IMAGE_CONFIGS["qwen3_5"] = dict(CHECKPOINT_IMAGE_CONFIGS["qwen3_vl"])

# Sizes the checkpoint-config counts cover: a dot, thin strips, odd sides, a camera photo.
CHECKPOINT_SIZES = [
    [(1, 1)],
    [(10, 1000)],
    [(1000, 10)],
    [(333, 517)],
    [(4000, 3000)],
    [(640, 480), (517, 333)],
]


def checkpoint_image_processor(tmp_path: Path, name: str, backend: str):
    """The image processor transformers builds from `name`'s checkpoint config, on `backend`
    ("torchvision" or "pil")."""
    import json

    from transformers import AutoImageProcessor

    folder = tmp_path / f"{name}-preprocessor"
    folder.mkdir(exist_ok=True)
    config = CHECKPOINT_IMAGE_CONFIGS[name]
    (folder / "preprocessor_config.json").write_text(json.dumps(config), encoding="utf-8")
    return AutoImageProcessor.from_pretrained(str(folder), backend=backend)


def multi_turn_record(rid: str = "mt") -> dict:
    """Two user turns with an image each (the second after an assistant turn), two answers."""
    first, second = record([(333, 517)], rid=rid), record([(1000, 10)], rid=rid)
    return {
        **first,
        "messages": first["messages"] + second["messages"],
        "images": first["images"] + second["images"],
    }
