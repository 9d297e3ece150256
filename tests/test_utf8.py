"""Invalid UTF-8 is refused by `validate` and `convert` alike (exit 1, the file and the line), whichever
path reads the file: validate's columnar pass (plain oai JSONL), record by record (llava JSONL), or a
JSON document read whole (sharegpt .json). They share one decoder, `vlmdata.text`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from vlmdata.cli import cli
from vlmdata.validate import columnar

OAI = {
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
    ]
}
LLAVA = {"id": "1", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "ok"}]}
SHAREGPT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]}
FIX = "re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"


def write(folder, name, rec):
    """Three records, the second with one invalid byte (0xff) in its answer: (file, line, byte offset
    in what the decoder reads, the line for JSONL or the whole file for JSON)."""
    folder.mkdir()
    lines = [json.dumps(rec).encode() for _ in range(3)]
    lines[1] = lines[1].replace(b'"ok"', b'"o\xffk"')
    path = folder / name
    if name.endswith(".jsonl"):
        path.write_bytes(b"\n".join(lines) + b"\n")
        return path, 2, lines[1].index(b"\xff")
    data = b"[\n" + b",\n".join(lines) + b"\n]\n"
    path.write_bytes(data)
    return path, 3, data.index(b"\xff")


CASES = {
    "columnar-oai-jsonl": ("train.jsonl", OAI),
    "record-by-record-llava-jsonl": ("train.jsonl", LLAVA),
    "whole-sharegpt-json": ("train.json", SHAREGPT),
}


@pytest.fixture(params=list(CASES))
def bad(request, tmp_path, monkeypatch):
    name, rec = CASES[request.param]
    monkeypatch.chdir(tmp_path)
    path, line, byte = write(tmp_path / "data", name, rec)
    return request.param, path.relative_to(tmp_path), line, byte


def message(path, line, byte) -> str:
    return f"{path}:{line}: file is not UTF-8 (byte {byte}) (expected UTF-8, found invalid byte 0xff)"


def test_validate_refuses_invalid_utf8_with_the_line(bad, monkeypatch):
    case, path, line, byte = bad
    if case.startswith("columnar"):  # the columnar pass must be the one that meets the bad block
        seen = []
        real = columnar.validate_file
        monkeypatch.setattr(columnar, "validate_file", lambda *a: seen.append(a) or real(*a))
    result = CliRunner().invoke(cli, ["validate", "data"])
    assert result.exit_code == 1, result.output
    assert f"{message(path, line, byte)}\n  fix: {FIX}\n" in result.output
    assert "invalid: 1 problem(s)" in result.output
    if case.startswith("columnar"):
        assert seen


def test_convert_refuses_invalid_utf8_with_the_line_and_writes_nothing(bad, tmp_path):
    case, path, line, byte = bad
    result = CliRunner().invoke(cli, ["convert", "data", "--to", "parquet", "--out", "out"])
    assert result.exit_code == 1, result.output
    if case.startswith("whole"):  # the file cannot be read at all
        expected = f"Error: {message(path, line, byte)}\n  fix: {FIX}\n"
    else:
        expected = (
            f"Error: 1 problem(s) in 1 of 3 record(s):\n  {message(path, line, byte)}\n    fix: {FIX}\n"
            "Nothing was written to out."
        )
    assert expected in result.output
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no temporary folder or lock left
