"""Datasets for the `vlmdata view` tests (HTTP and browser): small, with known counts and known problems."""

from __future__ import annotations

import json
from pathlib import Path

from data_helpers import png_bytes, record, write_canonical

N_RECORDS = 45
BAD_POS = 7  # the record whose last turn is the user's: validate says so
BAD_MESSAGE = "the last turn must be the assistant's"


def canonical_records() -> list[dict]:
    """45 records: images 0/1/2 in turn, sources cam-a/cam-b, one with a trailing user turn (BAD_POS)."""
    recs = []
    for i in range(N_RECORDS):
        rec = record(id=f"rec-{i:03d}", images=i % 3, source="cam-a" if i % 2 == 0 else "cam-b")
        rec["messages"][-1]["content"][0]["text"] = (
            f"Answer {i}: a {'red' if i % 5 == 0 else 'plain'} square."
        )
        for k, im in enumerate(rec["images"]):
            im["bytes"] = png_bytes((40 + 5 * i, 80 * k, 120), size=(48 + i, 32))
        recs.append(rec)
    bad = recs[BAD_POS]
    bad["messages"].append({"role": "user", "content": [{"type": "text", "text": "And then?"}]})
    return recs


def make_canonical(folder: Path) -> Path:
    return write_canonical(folder, canonical_records())


def make_sharegpt_folder(folder: Path) -> Path:
    """A LLaMA-Factory folder: dataset_info.json, train.json, images/; record 2 has two <image> marks and
    one image, record 3 names a file outside the folder, record 4 names a non-image file of the folder."""
    (folder / "images").mkdir(parents=True)
    for k in range(3):
        (folder / "images" / f"{k}.png").write_bytes(png_bytes((90 * k, 50, 50), size=(40, 30)))
    (folder.parent / "secret.png").write_bytes(png_bytes((1, 2, 3)))
    (folder / "notes.txt").write_text("not an image")

    def rec(text, images):
        return {
            "messages": [
                {"role": "user", "content": text},
                {"role": "assistant", "content": f"answer to {text.replace('<image>', '')}"},
            ],
            "images": images,
        }

    records = [
        rec("<image>What colour?", ["images/0.png"]),
        rec("<image>And this one?", ["images/1.png"]),
        rec("<image><image>Compare them.", ["images/2.png"]),
        rec("<image>Outside?", ["../secret.png"]),
        rec("<image>Notes?", ["notes.txt"]),
        rec("No image here.", []),
    ]
    (folder / "train.json").write_text(json.dumps(records, indent=1))
    info = {
        "demo": {
            "file_name": "train.json",
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images"},
            "tags": {
                "role_tag": "role",
                "content_tag": "content",
                "user_tag": "user",
                "assistant_tag": "assistant",
            },
        }
    }
    (folder / "dataset_info.json").write_text(json.dumps(info))
    return folder
