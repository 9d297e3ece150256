"""validate's columnar pass (vlmdata.validate.columnar) writes the report the record-by-record path writes.

Every case is validated twice, with the pass on and off, and the reports must be equal (problems,
their order and locations, image counts). Files in the pass's layout must not fall back; files in any
other layout must.
"""

from __future__ import annotations

import json
import random

import pytest

from vlmdata.validate import columnar, validate
from vlmdata.validate.run import Checks

IMG = {"type": "image"}


def text(t):
    return {"type": "text", "text": t}


def turn(role, *parts):
    return {"role": role, "content": list(parts)}


def ok(i, **extra):
    return {
        "id": f"r{i}",
        "messages": [turn("user", IMG, text("What is it?")), turn("assistant", text("A cat."))],
        "images": ["images/0.png"],
        **extra,
    }


def cases(folder) -> list[dict]:
    """One record per check the schema or the format makes, and valid records around them."""
    outside = folder.parent / "outside.png"
    outside.write_bytes((folder / "images" / "0.png").read_bytes())
    q, a = turn("user", text("q")), turn("assistant", text("a"))
    recs = [
        ok(0),
        ok(1, source="web"),
        ok(2, id=None),
        {"id": "r3", "messages": [q, a], "images": None},
        {"id": "r4", "messages": [q, a]},
        {"id": "r5", "messages": [turn("system", text("be brief")), q, a], "images": []},
        {"id": "r6", "messages": [q, a, q, a, q, a] * 4},  # 24 turns: longer than a packed key
        {"id": "r7", "messages": [q, a, q, a, q] * 5},  # 25 turns ending with the user
        {"id": "r8", "messages": [q]},  # ends with the user
        {"id": "r9", "messages": [a, q]},
        {"id": "r10", "messages": []},
        {"id": "r11", "messages": None},
        {"id": "r12"},
        {"id": "r13", "messages": [{"role": None, "content": [text("q")]}, a]},
        {"id": "r14", "messages": [{"role": "tool", "content": [text("q")]}, a]},
        {"id": "r15", "messages": [{"role": "user"}, a]},
        {"id": "r16", "messages": [{"role": "user", "content": None}, a]},
        {"id": "r17", "messages": [q, turn("assistant")]},  # empty answer
        {"id": "r18", "messages": [q, turn("assistant", text("   \n"))]},
        {"id": "r19", "messages": [q, turn("assistant", text("\u3000"))]},  # ideographic space
        {"id": "r20", "messages": [q, turn("assistant", text("\x1c"))]},  # str.isspace, not Unicode's
        {"id": "r21", "messages": [q, turn("assistant", text("猫です"))]},  # no ASCII: checked alone
        {"id": "r22", "messages": [q, turn("assistant", {"type": "text", "text": None})]},
        {"id": "r23", "messages": [q, turn("assistant", {"type": "text"})]},
        {"id": "r24", "messages": [q, turn("assistant", {"type": None, "text": "x"})]},
        {"id": "r25", "messages": [q, turn("assistant", {"type": "video", "text": "x"})]},
        {"id": "r26", "messages": [q, turn("assistant", {"type": "image_url"})]},
        {"id": "r27", "messages": [turn("user", IMG, IMG, text("q")), a], "images": ["images/0.png"]},
        {"id": "r28", "messages": [q, a], "images": ["images/0.png"]},
        {"id": "r29", "messages": [turn("user", IMG, text("q")), a], "images": [""]},
        {"id": "r30", "messages": [turn("user", IMG, text("q")), a], "images": [None]},
        {"id": "r31", "messages": [turn("user", IMG, text("q")), a], "images": ["images/missing.png"]},
        {"id": "r32", "messages": [turn("user", IMG, text("q")), a], "images": ["../outside.png"]},
        {"id": "r33", "messages": [turn("user", IMG, text("q")), a], "images": [str(outside)]},
        {"id": "r34", "messages": [turn("user", IMG, text("q")), a], "images": ["images/bad.png"]},
        {"id": "r35", "messages": [turn("user", IMG, text("q")), a], "images": ["/nowhere/x.png"]},
        {"id": "r36", "messages": [turn("user", text("q"), IMG), turn("assistant", IMG)],
         "images": ["images/0.png", str(outside)]},
        {"id": "r37", "messages": [turn("user", IMG), a], "images": ["data:image/png;base64,AAAA"]},
        {"id": "r38", "messages": [None, a]},
        {"id": "r39", "messages": [turn("user", None, text("q")), a]},
        {"id": "r40", "messages": [turn("system", text("s")), turn("system", text("s")), q, a]},
        ok(41),
        # xtuner's <IMG_CONTEXT> places image_url parts only: next to an image part, or with no image
        {"id": "r42", "messages": [turn("user", IMG, text("<IMG_CONTEXT>\nq")), a], "images": ["images/0.png"]},
        {"id": "r43", "messages": [q, turn("assistant", text("<IMG_CONTEXT>"))]},
    ]  # fmt: skip
    return recs


@pytest.fixture
def folder(tmp_path):
    from PIL import Image

    (tmp_path / "data" / "images").mkdir(parents=True)
    Image.new("RGB", (8, 8), (1, 2, 3)).save(tmp_path / "data" / "images" / "0.png")
    (tmp_path / "data" / "images" / "bad.png").write_bytes(b"not a png")
    return tmp_path / "data"


def write(path, records, sep="\n") -> None:
    path.write_text(sep.join(json.dumps(r, ensure_ascii=False) for r in records) + sep)


def both(path, monkeypatch, **kw) -> tuple[dict, dict]:
    fast = validate(path, **kw).to_dict()
    monkeypatch.setattr(columnar, "ENABLED", False)
    slow = validate(path, **kw).to_dict()
    monkeypatch.setattr(columnar, "ENABLED", True)
    for d in (fast, slow):
        d.pop("seconds")
    return fast, slow


def used_columnar(path) -> bool:
    checks = Checks.open(path, "oai", "header", 10**8)
    return columnar.validate_file(checks, checks.dataset.files[0], "oai") is not None


@pytest.mark.parametrize("mode", [{}, {"open_images": False}, {"check_images": True}])
def test_every_check_reported_as_record_by_record(folder, monkeypatch, mode):
    path = folder / "train.jsonl"
    write(path, cases(folder))
    assert used_columnar(path)
    fast, slow = both(path, monkeypatch, **mode)
    assert fast == slow
    assert not fast["ok"] and fast["images_outside"] > 0
    bad = {p["record"] for p in fast["problems"]}
    assert set(range(7, 33)) - {21} <= bad  # 21: a text without ASCII, fine
    assert not bad & {0, 1, 2, 3, 4, 5, 6, 21, 33, 41}
    assert {42, 43} <= bad


def test_random_records_reported_as_record_by_record(folder, monkeypatch):
    """Records drawn from the pieces the checks look at, in small blocks (rows crossing blocks)."""
    rng = random.Random(7)
    roles = ["system", "user", "assistant", "assistant", "user", "bot", None]
    texts = ["hi", "", " ", "\t\n", "é", "中文", "\u2003", None]
    images = ["images/0.png", "images/missing.png", "", None, "../x.png", "images/bad.png"]
    records = []
    for i in range(3000):
        messages = []
        for _ in range(rng.choice([0, 1, 2, 2, 2, 3, 4, 4, 6, 23])):
            parts = [
                {"type": rng.choice(["text", "text", "image", "audio"]), "text": rng.choice(texts)}
                if rng.random() < 0.3
                else rng.choice([text(rng.choice(texts)), IMG, text("answer words")])
                for _ in range(rng.choice([0, 1, 1, 2, 3]))
            ]
            messages.append({"role": rng.choice(roles), "content": parts})
        rec = {"id": f"r{i}", "messages": messages}
        n = sum(p["type"] == "image" for m in messages for p in m["content"])
        if rng.random() < 0.9:
            rec["images"] = [rng.choice(images) if rng.random() < 0.2 else "images/0.png" for _ in range(n)]
        if rng.random() < 0.1:
            rec["images"] = ["images/0.png"] * rng.choice([0, 1, 2])
        records.append(rec)
    path = folder / "random.jsonl"
    write(path, records)
    monkeypatch.setattr(columnar, "BLOCK_BYTES", 4096)
    assert used_columnar(path)
    fast, slow = both(path, monkeypatch)
    assert fast == slow
    assert 0 < fast["bad_records"] < fast["records"] == 3000


@pytest.mark.parametrize(
    "layout",
    ["blank line", "crlf", "integer id", "extra key", "string content", "inline image", "two per line",
     "leading space", "duplicate key", "no final newline", "bad json"],
)  # fmt: skip
def test_other_layouts_fall_back_or_agree(folder, monkeypatch, layout):
    records = [ok(i) for i in range(5)]
    lines = [json.dumps(r) for r in records]
    if layout == "blank line":
        lines.insert(2, "")
    elif layout == "integer id":
        lines[1] = json.dumps(ok(1, id=7))
    elif layout == "extra key":
        lines[1] = json.dumps(ok(1, meta={"a": 1}))
    elif layout == "string content":
        lines[1] = json.dumps(
            {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
        )
    elif layout == "inline image":
        lines[1] = json.dumps({"messages": [turn("user", {"type": "image", "image": "images/0.png"}),
                                            turn("assistant", text("a"))]})  # fmt: skip
    elif layout == "two per line":
        lines[1] = lines[1] + " " + lines[2]
    elif layout == "leading space":
        lines[1] = " " + lines[1]
    elif layout == "duplicate key":
        lines[1] = lines[1].replace('"id": "r1"', '"id": "r1", "id": "again"')
    elif layout == "bad json":
        lines[1] = lines[1][:-3]
    sep = "\r\n" if layout == "crlf" else "\n"
    body = sep.join(lines) + ("" if layout == "no final newline" else sep)
    path = folder / "train.jsonl"
    path.write_bytes(body.encode())
    fast, slow = both(path, monkeypatch)
    assert fast == slow
    assert used_columnar(path) == (layout in ("crlf", "no final newline"))


def test_validate_does_not_load_pandas(folder):
    """pyarrow's conversions from Python values import pandas (half a second of start-up): the pass
    reads buffers instead (vlmdata.columns)."""
    import subprocess
    import sys

    path = folder / "train.jsonl"
    write(path, [ok(i) for i in range(50)] + [{"id": "bad", "messages": []}])
    code = (
        "import sys; from vlmdata.validate import validate, columnar; "
        f"r = validate({str(path)!r}); assert r.bad_records == 1, r.summary(); "
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
