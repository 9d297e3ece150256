"""Property: oai -> sharegpt -> llava -> oai gives back the same canonical records, for every record
the targets can express (LLaVA: no system turn, at most one image)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_helpers import canonical, png_bytes
from vlmdata.convert import convert
from vlmdata.io import ShardWriter
from vlmdata.record import image_part, normalize_content, text_part

# Text without the placeholders (a literal <image>, <video>, <audio> is lossy by design), including newlines
# and unicode; not only whitespace (validate, and so convert, refuses a turn with no text).
texts = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(
    lambda t: t.strip() and not any(m in t for m in ("<image>", "<video>", "<audio>"))
)


@st.composite
def conversations(draw, max_images=3, allow_system=True):
    n_pairs = draw(st.integers(1, 3))
    n_images = draw(st.integers(0, max_images))
    messages = []
    if allow_system and draw(st.booleans()):
        messages.append({"role": "system", "content": [text_part(draw(texts))]})
    placed = 0
    for k in range(n_pairs):
        parts = [text_part(t) for t in draw(st.lists(texts, min_size=1, max_size=2))]
        # images go anywhere in user turns; the last user turn takes whatever is left
        here = n_images - placed if k == n_pairs - 1 else draw(st.integers(0, n_images - placed))
        for _ in range(here):
            parts.insert(draw(st.integers(0, len(parts))), image_part())
        placed += here
        messages.append({"role": "user", "content": normalize_content(parts)})
        messages.append({"role": "assistant", "content": [text_part(draw(texts))]})
    images = [{"bytes": png_bytes((i * 50, 7, 9)), "path": f"i{i}.png"} for i in range(n_images)]
    return messages, images


def _write(folder: Path, items) -> Path:
    folder.mkdir()
    writer = ShardWriter(folder, "train")
    for i, (messages, images) in enumerate(items):
        writer.write({"id": f"r{i}", "messages": messages, "images": images, "source": "gen"})
    writer.close()
    return folder


def _expected(items):
    return [
        {
            "id": f"r{i}",
            "messages": m,
            "images": [im["bytes"] for im in imgs],
            "videos": [],
            "audios": [],
            "source": "gen",
        }  # fmt: skip
        for i, (m, imgs) in enumerate(items)
    ]


def _chain(start: Path, work: Path, chain: list[str]) -> Path:
    src = start
    for step, to in enumerate(chain):
        out = work / f"{step}-{to}"
        convert(src, to, out)
        src = out
    return src


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(conversations(max_images=1, allow_system=False), min_size=1, max_size=4))
def test_oai_sharegpt_llava_oai_round_trip(items):
    work = Path(tempfile.mkdtemp())
    try:
        oai = _chain(_write(work / "src", items), work, ["oai"])
        end = _chain(oai, work, ["sharegpt", "llava", "oai", "parquet"])
        assert canonical(end) == _expected(items)
    finally:
        shutil.rmtree(work)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(conversations(max_images=3, allow_system=True), min_size=1, max_size=4))
def test_multi_image_and_system_round_trip_through_sharegpt(items):
    work = Path(tempfile.mkdtemp())
    try:
        end = _chain(_write(work / "src", items), work, ["oai", "sharegpt", "oai", "parquet"])
        assert canonical(end) == _expected(items)
    finally:
        shutil.rmtree(work)
