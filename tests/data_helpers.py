"""Data-test helpers: tiny images made in memory, canonical records, paths to the bundled fixtures.

(Not in conftest.py: tests/train has a conftest too, and `from conftest import` would pick either.)
"""

from __future__ import annotations

import io
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
INTEROP = FIXTURES / "interop"


def png_bytes(color=(255, 0, 0), size=(32, 32), fmt="PNG") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def record(
    id="r0", turns=(("user", "What is it?"), ("assistant", "A square.")), images=1, system=None, source=""
):
    """A canonical record: `images` image parts at the start of the first user turn."""
    from vlmdata.record import image_part, make_record, text_part

    messages = [{"role": "system", "content": [text_part(system)]}] if system else []
    for k, (role, text) in enumerate(turns):
        content = [image_part() for _ in range(images)] if k == 0 else []
        messages.append({"role": role, "content": content + [text_part(text)]})
    imgs = [{"bytes": png_bytes((40 * i % 256, 0, 0)), "path": f"img{i}.png"} for i in range(images)]
    return make_record(id, messages, imgs, source)


def write_canonical(folder: Path, records: list[dict], split: str = "train") -> Path:
    from vlmdata.io import ShardWriter

    folder.mkdir(parents=True, exist_ok=True)
    writer = ShardWriter(folder, split)
    for rec in records:
        writer.write(rec)
    writer.close()
    return folder


def canonical(path, **kw) -> list[dict]:
    """Read any dataset back as canonical records with image bytes loaded (paths dropped)."""
    from vlmdata.convert import read_records
    from vlmdata.inputs import discover
    from vlmdata.io import read_image_bytes

    out = []
    for _, _, rec in read_records(discover(path), **kw):
        rec["images"] = [read_image_bytes(im)["bytes"] for im in rec["images"]]
        for key in ("videos", "audios"):
            rec[key] = [read_image_bytes(m)["bytes"] for m in rec[key]]
        out.append(rec)
    return out
