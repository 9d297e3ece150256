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


# Whole-processor checkpoint configurations (image processor + processor settings), for families whose
# processor takes more than an image processor and a tokenizer (audio feature extractors, fixed soft-token
# counts). Keyed by family name: {"image_processor": preprocessor_config.json values, "processor":
# processor_config.json values}; the count must equal the real processor configured exactly so.
CHECKPOINT_PROCESSOR_CONFIGS = {
    # google/gemma-3n-E2B-it: transformers' convert_gemma3n_weights.py builds the shipped processor as
    # SiglipImageProcessorFast(size 768x768, bilinear, do_normalize=False, mean/std 0.5) and
    # Gemma3nProcessor's defaults image_seq_length=256, audio_seq_length=188 (Gemma3nConfig's
    # vision_soft_tokens_per_image=256: MobileNet-v5's 768 px output pooled to 16 x 16).
    "gemma3n": {
        "image_processor": {
            "image_processor_type": "SiglipImageProcessorFast",
            "size": {"height": 768, "width": 768},
            "resample": 2,
            "do_normalize": False,
            "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5],
        },
        "processor": {"image_seq_length": 256, "audio_seq_length": 188},
    },
    # google/gemma-4-E2B-it (and the other released Gemma 4 checkpoints): the "image_processor" section
    # of processor_config.json (as quoted in a public re-implementation's fixture): patch 16, pooling 3,
    # 280 soft tokens, bicubic, no normalization (the model scales pixels itself); image_seq_length 280.
    "gemma4": {
        "image_processor": {
            "image_processor_type": "Gemma4ImageProcessor",
            "do_convert_rgb": True,
            "do_normalize": False,
            "do_rescale": True,
            "do_resize": True,
            "image_mean": [0.0, 0.0, 0.0],
            "image_std": [1.0, 1.0, 1.0],
            "image_seq_length": 280,
            "max_soft_tokens": 280,
            "patch_size": 16,
            "pooling_kernel_size": 3,
            "resample": 3,
            "rescale_factor": 0.00392156862745098,
        },
        "processor": {"image_seq_length": 280},
    },
}

# Sizes the checkpoint-config counts cover: a dot, thin strips, odd sides, a camera photo, two images.
CHECKPOINT_SIZES = [
    [(1, 1)],
    [(10, 1000)],
    [(1000, 10)],
    [(333, 517)],
    [(4000, 3000)],
    [(640, 480), (517, 333)],
]


def checkpoint_processor(tmp_path: Path, tiny, name: str, backend: str):
    """`tiny`'s processor class with the tiny tokenizer, template and other parts, but the image processor
    and processor settings of `name`'s real checkpoint; the image processor on `backend` ("torchvision"
    or "pil"), built by transformers from the checkpoint's preprocessor_config.json values."""
    import json

    from transformers import AutoImageProcessor

    config = CHECKPOINT_PROCESSOR_CONFIGS[name]
    folder = tmp_path / f"{name}-preprocessor"
    folder.mkdir(exist_ok=True)
    (folder / "preprocessor_config.json").write_text(json.dumps(config["image_processor"]), encoding="utf-8")
    ip = AutoImageProcessor.from_pretrained(str(folder), backend=backend)
    assert type(ip).__name__.endswith("Pil") == (backend == "pil"), type(ip).__name__
    parts = {attr: getattr(tiny, attr) for attr in tiny.get_attributes()}
    return type(tiny)(
        **{**parts, "image_processor": ip}, chat_template=tiny.chat_template, **config["processor"]
    )


def multi_turn_record(rid: str = "mt") -> dict:
    """Two user turns with an image each (the second after an assistant turn), two answers."""
    first, second = record([(333, 517)], rid=rid), record([(1000, 10)], rid=rid)
    return {
        **first,
        "messages": first["messages"] + second["messages"],
        "images": first["images"] + second["images"],
    }
