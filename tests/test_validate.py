"""`vlmdata validate`: every kind of bad input is reported with its exact location and message, never a
traceback; every problem is listed, not the first; exit 0 valid, 1 invalid, 2 usage error."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from vlmdata.cli import cli
from vlmdata.validate import validate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def png(folder: Path, name: str = "a.png", size=(32, 32)) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 30, 30)).save(path)
    return path


def jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def sg(user="<image>What is it?", answer="A cat.", images=("a.png",), **extra) -> dict:
    """A valid ShareGPT record (role/content spelling)."""
    return {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}],
        "images": list(images),
        **extra,
    }


def oai(images=("a.png",)) -> dict:
    return {
        "messages": [
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is it?"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]},
        ],
        "images": list(images),
    }


def problems(path, **kw) -> list[tuple]:
    """(code, message, file name, record, line, path, expected, found) of every problem."""
    report = validate(path, **kw)
    return [
        (p.code, p.message, Path(p.where.file).name if p.where.file else None, p.where.record, p.where.line)
        + (p.where.path, p.expected, p.found)
        for p in report.problems
    ]


def run(*args):
    return CliRunner().invoke(cli, ["validate", *map(str, args)])


# -- valid data -----------------------------------------------------------------------------------
def test_valid_llamafactory_folder(tmp_path):
    shutil.copytree(FIXTURES / "interop" / "llamafactory", tmp_path / "lf")
    result = run(tmp_path / "lf")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "valid: 6 record(s) in 1 file(s), 8 image(s) checked"


@pytest.mark.parametrize("fmt", ["auto", "oai"])
def test_valid_oai_jsonl(tmp_path, fmt):
    png(tmp_path)
    path = jsonl(tmp_path / "train.jsonl", [oai(), oai()])
    report = validate(path, fmt=fmt)
    assert report.ok and report.records == 2 and report.images == 2
    assert report.files[0].format == "oai"


def test_valid_llava_json(tmp_path):
    png(tmp_path, "imgs/a.png")
    rec = {
        "id": "1",
        "image": "imgs/a.png",
        "conversations": [{"from": "human", "value": "<image>\nHi"}, {"from": "gpt", "value": "Hello"}],
    }
    (tmp_path / "llava.json").write_text(json.dumps([rec]))
    assert problems(tmp_path / "llava.json") == []


# -- parse errors, encodings, types -----------------------------------------------------------------
def test_malformed_jsonl_line_is_reported_and_reading_goes_on(tmp_path):
    png(tmp_path)
    path = jsonl(tmp_path / "train.jsonl", [sg(), '{"messages": [}', sg(images=())])
    assert problems(path) == [
        (
            "json",
            "malformed JSON: unexpected character, expected a JSON value (column 15)",
            "train.jsonl",
            1,
            2,
            "$",
            "valid JSON",
            "error at column 15",
        ),
        (
            "image-count",
            "number of images (0) does not match number of <image> placeholders (1)",
            "train.jsonl",
            2,
            3,
            "$.images",
            "1",
            "0",
        ),
    ]


def test_malformed_json_file_is_one_problem(tmp_path):
    (tmp_path / "data.json").write_text('[{"a": 1},\n {"b": tru}]')
    assert problems(tmp_path / "data.json") == [
        (
            "json",
            "malformed JSON: invalid literal, expected 'true' (column 8)",
            "data.json",
            None,
            2,
            "$",
            "valid JSON",
            "error at column 8",
        )
    ]


def test_non_utf8_jsonl_line(tmp_path):
    png(tmp_path)
    path = tmp_path / "train.jsonl"
    path.write_bytes(
        (json.dumps(sg()) + "\n").encode()
        + json.dumps(sg(answer="caf\u00e9"), ensure_ascii=False).encode("latin-1")
        + b"\n"
    )
    report = validate(path)
    [p] = report.problems
    assert (p.code, p.where.line, p.where.record, p.expected, p.found) == (
        "encoding",
        2,
        None,
        "UTF-8",
        "invalid byte 0xe9",
    )
    assert p.message.startswith("file is not UTF-8 (byte ")
    assert report.records == 2


def test_non_utf8_json_file(tmp_path):
    (tmp_path / "data.json").write_bytes(b'[{"messages": "caf\xe9"}]')
    assert problems(tmp_path / "data.json") == [
        ("encoding", "file is not UTF-8 (byte 18)", "data.json", None, 1, "$", "UTF-8", "invalid byte 0xe9")
    ]


def test_record_that_is_not_an_object(tmp_path):
    png(tmp_path)
    path = jsonl(tmp_path / "t.jsonl", [sg(), "[1, 2]"])
    assert problems(path) == [
        ("type", "record must be a JSON object", "t.jsonl", 1, 2, "$", "object", "array")
    ]


def test_wrong_types_and_missing_fields_all_listed(tmp_path):
    png(tmp_path)
    bad = {
        "messages": [
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": 5}]},
            {"role": "assistant"},
        ],
        "images": ["a.png"],
    }
    path = jsonl(tmp_path / "t.jsonl", [bad])
    assert problems(path, fmt="oai") == [
        (
            "type",
            "5 is not of type 'string'",
            "t.jsonl",
            0,
            1,
            "$.messages[0].content[1].text",
            "string",
            "integer",
        ),
        (
            "missing-field",
            "'content' is a required property",
            "t.jsonl",
            0,
            1,
            "$.messages[1].content",
            "a value",
            "missing",
        ),
    ]


def test_missing_messages(tmp_path):
    (tmp_path / "t.json").write_text(json.dumps([{"id": "x", "images": []}]))
    assert problems(tmp_path / "t.json", fmt="sharegpt") == [
        (
            "missing-field",
            "'messages' or 'conversations' is a required property",
            "t.json",
            0,
            None,
            "$.messages",
            "a value",
            "missing",
        )
    ]


def test_unknown_role(tmp_path):
    png(tmp_path)
    rec = oai()
    rec["messages"][1]["role"] = "bot"
    path = jsonl(tmp_path / "t.jsonl", [rec])
    assert problems(path) == [
        (
            "role",
            "'bot' is not one of ['system', 'user', 'assistant']",
            "t.jsonl",
            0,
            1,
            "$.messages[1].role",
            "one of system|user|assistant",
            "'bot'",
        )
    ]


def test_unknown_format_is_a_file_problem(tmp_path):
    path = jsonl(tmp_path / "t.jsonl", [{"question": "q", "answer": "a"}])
    report = validate(path)
    assert [(p.code, p.message, p.found) for p in report.problems] == [
        ("format", "cannot tell the record format", "keys answer, question")
    ]
    assert report.skipped == [f"{path}: 1 record(s) not checked (unknown format)"]


# -- semantic checks -----------------------------------------------------------------------------------
def test_count_mismatch_roles_order_last_turn_and_empty_turns(tmp_path):
    png(tmp_path)
    records = [
        sg(user="<image><image>Two?"),  # 2 placeholders, 1 image
        {
            "messages": [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "<image>x"}],
            "images": ["a.png"],
        },
        {
            "messages": [{"role": "user", "content": "<image>"}, {"role": "assistant", "content": "  "}],
            "images": ["a.png"],
        },
        {
            "messages": [
                {"role": "user", "content": "<image>a"},
                {"role": "system", "content": "s"},
                {"role": "assistant", "content": "b"},
                {"role": "assistant", "content": "c"},
            ],
            "images": ["a.png"],
        },
    ]
    got = [(p[0], p[1], p[3], p[5], p[6], p[7]) for p in problems(jsonl(tmp_path / "t.jsonl", records))]
    assert got == [
        (
            "image-count",
            "number of images (1) does not match number of <image> placeholders (2)",
            0,
            "$.images",
            "2",
            "1",
        ),
        (
            "role-order",
            "the conversation must start with a user turn",
            1,
            "$.messages[0].role",
            "'user'",
            "'assistant'",
        ),
        (
            "last-turn",
            "the last turn must be the assistant's",
            1,
            "$.messages[1].role",
            "'assistant'",
            "'user'",
        ),
        (
            "empty-turn",
            "turn has no text and no image",
            2,
            "$.messages[1]",
            "text or an image",
            "empty content",
        ),
        (
            "role-order",
            "a system turn may only come first",
            3,
            "$.messages[1].role",
            "user|assistant",
            "'system'",
        ),
        (
            "role-order",
            "roles must alternate between user and assistant",
            3,
            "$.messages[3].role",
            "'user'",
            "'assistant'",
        ),
    ]


def test_oai_inline_and_listed_images(tmp_path):
    png(tmp_path)
    rec = oai()
    rec["messages"][0]["content"][0] = {"type": "image", "image": "a.png"}
    path = jsonl(tmp_path / "t.jsonl", [rec])
    assert [p[:2] for p in problems(path)] == [
        ("image-count", "images given both inline in parts and in the images list"),
    ]


def test_llava_token_count(tmp_path):
    png(tmp_path)
    rec = {
        "image": "a.png",
        "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Yo"}],
    }
    (tmp_path / "l.json").write_text(json.dumps([rec]))
    assert problems(tmp_path / "l.json") == [
        ("image-count", "number of images (1) does not match number of <image> tokens (0)", "l.json", 0, None)
        + ("$.image", "0", "1")
    ]


# -- images ------------------------------------------------------------------------------------------
def test_missing_escaping_remote_images(tmp_path):
    png(tmp_path, "inside/a.png")
    png(tmp_path, "outside.png")
    (tmp_path / "ds").mkdir()
    shutil.move(tmp_path / "inside", tmp_path / "ds" / "inside")
    records = [
        sg(images=["inside/nope.png"]),
        sg(images=["../outside.png"]),
        sg(images=["https://example.com/a.png"]),
        sg(images=["inside/a.png"]),
    ]
    got = [(p[0], p[1], p[3], p[5], p[7]) for p in problems(jsonl(tmp_path / "ds" / "t.jsonl", records))]
    assert got == [
        ("image-missing", "image file does not exist", 0, "$.images[0]", "inside/nope.png"),
        ("image-outside", "image path escapes the dataset folder", 1, "$.images[0]", "../outside.png"),
        ("image-url", "remote image URLs are not fetched", 2, "$.images[0]", "https://example.com/a.png"),
    ]


def test_corrupt_oversized_and_truncated_images(tmp_path):
    png(tmp_path, "big.png", (20, 10))
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    data = (tmp_path / "big.png").read_bytes()
    png(tmp_path, "ok.jpg", (8, 8))
    Image.effect_noise((12, 12), 80).convert("RGB").save(tmp_path / "cut.jpg", quality=95)
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "cut.jpg").read_bytes()[:-80])
    assert data
    records = [sg(images=["big.png"]), sg(images=["junk.png"]), sg(images=["cut.jpg"]), sg(images=["ok.jpg"])]
    path = jsonl(tmp_path / "t.jsonl", records)
    header = [(p[0], p[1], p[3], p[6], p[7]) for p in problems(path, max_pixels=199)]
    assert header == [
        (
            "image-too-large",
            "image has 200 pixels (20x10), over the limit",
            0,
            "at most 199 pixels",
            "200 pixels",
        ),
        ("image-corrupt", "not a readable image (unknown format)", 1, "an image file", "unreadable data"),
    ]
    full = [(p[0], p[3]) for p in problems(path, max_pixels=199, check_images=True)]
    assert full == [("image-too-large", 0), ("image-corrupt", 1), ("image-corrupt", 2)]
    assert [p[0] for p in problems(path, max_pixels=199, open_images=False)] == []


def test_image_used_by_many_records_is_opened_once(tmp_path, monkeypatch):
    png(tmp_path)
    from vlmdata.validate.images import ImageChecker

    calls = []
    original = ImageChecker._open
    monkeypatch.setattr(ImageChecker, "_open", lambda self, src: calls.append(src) or original(self, src))
    assert validate(jsonl(tmp_path / "t.jsonl", [sg()] * 5)).ok
    assert len(calls) == 1


def test_data_url_images(tmp_path):
    import base64
    import io

    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="PNG")
    good = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    path = jsonl(tmp_path / "t.jsonl", [sg(images=[good]), sg(images=["data:image/png;base64,@@@"])])
    assert [(p[0], p[1], p[3]) for p in problems(path)] == [
        ("image-value", "image bytes are not valid base64", 1)
    ]


# -- dataset_info.json -------------------------------------------------------------------------------
TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}


def test_dataset_info_entries(tmp_path):
    png(tmp_path)
    jsonl(tmp_path / "a.jsonl", [sg(), sg()])
    info = {
        "good": {
            "file_name": "a.jsonl",
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images", "system": "sys"},
            "tags": TAGS,
        },
        "gone": {"file_name": "missing.json", "formatting": "sharegpt"},
        "alp": {"file_name": "a.jsonl", "num_samples": "ten"},
        "hub": {"hf_hub_url": "org/name"},
    }
    (tmp_path / "dataset_info.json").write_text(json.dumps(info))
    report = validate(tmp_path)
    got = [(p.code, p.message, p.where.path, p.expected, p.found) for p in report.problems]
    assert got == [
        ("type", "'ten' is not of type 'integer'", "$.alp.num_samples", "integer", "string"),
        (
            "dataset-info",
            "file_name points at a missing file",
            "$.gone.file_name",
            "an existing file or folder",
            "missing.json",
        ),
        (
            "dataset-info",
            "column 'sys' is in no record of a.jsonl",
            "$.good.columns.system",
            "records with a 'sys' key",
            "none of 2 record(s)",
        ),
    ]
    assert report.skipped == [
        f"{tmp_path / 'dataset_info.json'} $.alp: formatting 'alpaca' is not checked (only sharegpt)",
        f"{tmp_path / 'dataset_info.json'} $.hub: a Hub or remote dataset, nothing local to check",
    ]
    assert report.records == 2


def test_dataset_info_custom_columns_and_tags(tmp_path):
    png(tmp_path)
    rec = {
        "dialog": [{"who": "me", "say": "<image>hi"}, {"who": "bot", "say": "yo"}, {"who": "me", "say": "x"}],
        "pics": ["a.png"],
    }
    jsonl(tmp_path / "a.jsonl", [rec])
    tags = {"role_tag": "who", "content_tag": "say", "user_tag": "me", "assistant_tag": "bot"}
    info = {
        "d": {
            "file_name": "a.jsonl",
            "formatting": "sharegpt",
            "columns": {"messages": "dialog", "images": "pics"},
            "tags": tags,
        }
    }
    (tmp_path / "dataset_info.json").write_text(json.dumps(info))
    assert [(p.code, p.where.path, p.found) for p in validate(tmp_path).problems] == [
        ("last-turn", "$.dialog[2].who", "'user'")
    ]


# -- canonical Parquet shards ------------------------------------------------------------------------
def _canonical(images: list[bytes], parts: int = 1) -> dict:
    content = [{"type": "image", "text": None}] * parts + [{"type": "text", "text": "What?"}]
    return {
        "id": "r0",
        "messages": [
            {"role": "user", "content": content},
            {"role": "assistant", "content": [{"type": "text", "text": "That."}]},
        ],
        "images": [{"bytes": b, "path": "x.png"} for b in images],
        "source": "test",
    }


def _png_bytes(size=(8, 8)) -> bytes:
    import io

    buf = io.BytesIO()
    Image.new("RGB", size).save(buf, format="PNG")
    return buf.getvalue()


def test_canonical_parquet(tmp_path):
    from vlmdata.io import ShardWriter

    writer = ShardWriter(tmp_path, "train")
    writer.write(_canonical([_png_bytes()]))
    writer.write(_canonical([_png_bytes((30, 30))]))
    writer.write(_canonical([b"junk"], parts=2))
    writer.close()
    report = validate(tmp_path, max_pixels=100)
    assert report.files[0].format == "canonical"
    got = [(p.code, p.where.record, p.where.path, p.expected, p.found) for p in report.problems]
    assert got == [
        ("image-too-large", 1, "$.images[0]", "at most 100 pixels", "900 pixels"),
        ("image-count", 2, "$.images", "2", "1"),
        ("image-corrupt", 2, "$.images[0]", "an image file", "unreadable data"),
    ]


def test_parquet_without_hf_metadata(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vlmdata.record import ARROW_SCHEMA

    table = pa.Table.from_pylist([_canonical([_png_bytes()])], schema=ARROW_SCHEMA.remove_metadata())
    pq.write_table(table, tmp_path / "train-00000-of-00001.parquet")
    report = validate(tmp_path)
    assert [(p.code, p.message, p.found) for p in report.problems] == [
        (
            "hf-metadata",
            "huggingface schema metadata is missing or differs: datasets will not decode the images",
            "missing",
        )
    ]
    assert report.records == 1


def test_parquet_wrong_column_type(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vlmdata.record import ARROW_SCHEMA

    schema = ARROW_SCHEMA.set(0, pa.field("id", pa.large_string()))
    pq.write_table(pa.Table.from_pylist([_canonical([_png_bytes()])], schema=schema), tmp_path / "t.parquet")
    [p] = validate(tmp_path / "t.parquet").problems
    assert (p.code, p.where.path, p.expected, p.found) == ("arrow-schema", "$.id", "string", "large_string")


def test_damaged_parquet(tmp_path):
    (tmp_path / "t.parquet").write_bytes(b"PAR1 nope")
    [p] = validate(tmp_path / "t.parquet").problems
    assert (p.code, p.expected, p.found) == ("parquet", "a Parquet file", "unreadable")


# -- CLI ----------------------------------------------------------------------------------------------
def test_cli_table_and_exit_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # short file names: the table's columns don't depend on tmp_path
    png(tmp_path)
    jsonl(tmp_path / "t.jsonl", [sg(user="<image><image>x"), sg(user="<image><image>y"), sg()])
    path = Path("t.jsonl")
    result = run(path)
    assert result.exit_code == 1
    assert "Problems by file and kind" in result.output
    assert "│ t.jsonl │ image-count │     2 │ line 1 record 0 $.images │ 2        │ 1     │" in result.output
    assert "invalid: 2 problem(s) in 2 of 3 record(s) in 1 file(s)" in result.output
    assert (
        f"{path}:2 record 1 $.images: number of images (1) does not match number of <image> placeholders (2)"
        in result.output
    )
    assert "Traceback" not in result.output


def test_cli_json(tmp_path):
    png(tmp_path)
    path = jsonl(tmp_path / "t.jsonl", [sg(user="x"), sg()])
    result = run(path, "--json")
    assert result.exit_code == 1
    out = json.loads(result.output)
    assert out["ok"] is False and out["records"] == 2 and out["bad_records"] == 1
    assert out["counts"] == {"image-count": 1}
    assert out["problems"][0] == {
        "code": "image-count",
        "message": "number of images (1) does not match number of <image> placeholders (0)",
        "file": str(path),
        "record": 0,
        "line": 1,
        "path": "$.images",
        "expected": "0",
        "found": "1",
        "fix": "put one <image> in the text per image",
    }


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope.jsonl"], "Error: input nope.jsonl does not exist"),
        (
            ["{tmp}/t.jsonl", "--model", "{tmp}"],
            "Error: --model and --max-length go together: pass both or neither",
        ),
        (
            ["{tmp}/t.txt"],
            "Error: {tmp}/t.txt: unsupported file type '.txt'; expected .json, .jsonl or .parquet",
        ),
    ],
)
def test_cli_usage_errors(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.jsonl").write_text("")
    (tmp_path / "t.txt").write_text("")
    result = run(*[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2
    assert result.output.strip() == message.format(tmp=tmp_path)


def _fake_counter(monkeypatch, factory=None, value="fake_counter:open_counter"):
    """Register a token counter under vlmdata.token_counters, as an installed plugin would be."""
    import sys
    import types
    from importlib.metadata import EntryPoint

    from vlmdata import token_counting

    eps = [] if value is None else [EntryPoint("fake", value, token_counting.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(
        token_counting, "entry_points", lambda group: eps if group == token_counting.ENTRY_POINT_GROUP else []
    )
    if factory is not None:
        monkeypatch.setitem(sys.modules, "fake_counter", types.SimpleNamespace(open_counter=factory))


def test_cli_model_without_a_token_counter(tmp_path, monkeypatch):
    _fake_counter(monkeypatch, value=None)  # no plugin installed: vlmkit without the [train] extra's code
    png(tmp_path)
    path = jsonl(tmp_path / "t.jsonl", [sg()])
    result = run(path, "--model", tmp_path, "--max-length", "64")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Error: --model needs a token counter and none is installed: "
        "install the [train] extra, e.g. pip install 'vlmkit[train]'"
    )


def test_cli_model_counter_that_cannot_be_imported(tmp_path, monkeypatch):
    import sys

    _fake_counter(monkeypatch, value="vlmtrain.tokens.counter:open_counter")
    monkeypatch.setitem(sys.modules, "vlmtrain.tokens.counter", None)  # import fails, as without torch
    png(tmp_path)
    path = jsonl(tmp_path / "t.jsonl", [sg()])
    result = run(path, "--model", tmp_path, "--max-length", "64")
    assert result.exit_code == 2
    assert result.output.startswith(
        "Error: --model needs the token counter vlmtrain.tokens.counter:open_counter"
    )
    assert result.output.strip().endswith("install the [train] extra, e.g. pip install 'vlmkit[train]'")
    assert "Traceback" not in result.output


def test_the_token_counter_entry_point_is_declared_and_installed():
    """pyproject declares vlmtrain's counter; the installed metadata (what load_token_counter reads) has it."""
    from importlib.metadata import entry_points

    from vlmdata.token_counting import ENTRY_POINT_GROUP

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    root = Path(__file__).resolve().parents[1]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["project"]["entry-points"]
    assert declared[ENTRY_POINT_GROUP] == {"vlmtrain": "vlmtrain.counter:open_counter"}
    installed = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert installed == declared[ENTRY_POINT_GROUP]


class _Counter:
    """A counter that says every record is 10 tokens per user-text character (0 image tokens)."""

    def __init__(self, model_dir, max_length):
        self.model_dir, self.max_length, self.seen = model_dir, max_length, []

    def count(self, located):
        from vlmdata.errors import Location, Problem
        from vlmdata.token_counting import RecordCount, TokenCounts

        out = TokenCounts(self.max_length)
        for loc, rec in located:
            self.seen.append((loc, rec))
            n = 10 * len(rec["messages"][0]["content"][-1]["text"])
            out.records.append(RecordCount(loc.file, loc.record, rec["id"], n, 0, n > self.max_length))
            if n > self.max_length:
                out.problems.append(
                    Problem(
                        "too-long",
                        f"record has {n} tokens",
                        Location(loc.file, loc.record),
                        f"<= {self.max_length}",
                        str(n),
                    )
                )
        return out

    def label_spans(self, record):
        return []


def test_cli_model_counts_with_the_plugin(tmp_path, monkeypatch):
    made = []

    def factory(model_dir, max_length):
        made.append(_Counter(model_dir, max_length))
        return made[-1]

    _fake_counter(monkeypatch, factory)
    png(tmp_path)
    path = jsonl(tmp_path / "t.jsonl", [sg(user="<image>Hi"), sg(user="x"), sg(user="<image>Hello there")])
    result = run(path, "--model", tmp_path, "--max-length", "64", "--json")
    assert result.exit_code == 1
    (counter,) = made
    assert (counter.model_dir, counter.max_length, len(counter.seen)) == (str(tmp_path), 64, 2)
    loc, rec = counter.seen[0]
    assert (loc.record, loc.line, rec["images"][0]["path"]) == (0, 1, str(tmp_path / "a.png"))
    out = json.loads(result.output)
    assert out["counts"] == {"image-count": 1, "too-long": 1}
    assert out["tokens"]["records"] == [
        {
            "file": str(path),
            "record": 0,
            "id": rec["id"],
            "length": 20,
            "image_tokens": 0,
            "over_length": False,
        },
        {
            "file": str(path),
            "record": 2,
            "id": counter.seen[1][1]["id"],
            "length": 110,
            "image_tokens": 0,
            "over_length": True,
        },
    ]
    summary = out["tokens"]["summary"]
    assert {k: summary[k] for k in ("records", "min", "median", "max", "over_length", "max_length")} == {
        "records": 2,
        "min": 20,
        "median": 110,
        "max": 110,
        "over_length": 1,
        "max_length": 64,
    }
    assert [w["record"] for w in summary["worst"]] == [2, 0]

    text = run(path, "--model", tmp_path, "--max-length", "64")
    assert text.exit_code == 1
    assert "tokens (2 record(s) counted): min 20, median 110, max 110; 1 over max_length 64" in text.output
    assert (
        f"  {path} record 2 (id {counter.seen[1][1]['id']}): 110 tokens, 0 image tokens  over" in text.output
    )


def test_symlinked_image_folder_leading_outside(tmp_path):
    """The format readers resolve links and refuse images outside the folder: validate says so too."""
    png(tmp_path, "elsewhere/a.png")
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "imgs").symlink_to(tmp_path / "elsewhere")
    path = jsonl(tmp_path / "ds" / "t.jsonl", [sg(images=["imgs/a.png"])])
    assert [(p[0], p[1], p[5], p[7]) for p in problems(path)] == [
        (
            "image-outside",
            "image folder is a link that leads out of the dataset folder",
            "$.images[0]",
            "imgs/a.png",
        )
    ]
    from vlmdata.errors import RecordError
    from vlmdata.formats import FORMATS
    from vlmdata.formats.base import ReadContext

    root = (tmp_path / "ds").resolve()
    with pytest.raises(RecordError) as exc:
        FORMATS["sharegpt"].to_canonical(sg(images=["imgs/a.png"]), ReadContext(str(path), root, root))
    assert exc.value.problem.code == "image-outside"


def test_parquet_with_other_message_types_is_not_row_checked(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": ["a"], "messages": ["not a list"], "images": [[]], "source": [""]})
    pq.write_table(table, tmp_path / "t.parquet")
    report = validate(tmp_path / "t.parquet")
    assert [(p.code, p.where.path, p.found) for p in report.problems] == [
        ("arrow-schema", "$.messages", "string"),
        ("arrow-schema", "$.images", "list<element: null>"),
        ("hf-metadata", "$", "missing"),
    ]
    assert report.skipped == [
        f"{tmp_path / 't.parquet'}: 1 row(s) not checked ($.messages and $.images not canonical)"
    ]


def test_oai_parquet_from_the_hub_layout(tmp_path):
    """HuggingFaceH4/llava-instruct-mix-vsft: messages with {type, text, index} parts, images as bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    messages = [
        {
            "role": "user",
            "content": [
                {"type": "image", "text": None, "index": 0},
                {"type": "text", "text": "Hi?", "index": None},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "Yes.", "index": None}]},
    ]
    rows = [
        {"messages": messages, "images": [{"bytes": _png_bytes(), "path": None}]},
        {"messages": messages, "images": [{"bytes": b"junk", "path": None}]},
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "train.parquet")
    report = validate(tmp_path)
    assert report.files[0].format == "oai"
    assert [(p.code, p.where.record, p.where.path) for p in report.problems] == [
        ("image-corrupt", 1, "$.images[0]")
    ]


def test_empty_file(tmp_path):
    (tmp_path / "t.jsonl").write_text("\n\n")
    assert problems(tmp_path / "t.jsonl") == [
        ("empty-file", "file holds no records", "t.jsonl", None, None, "$", "at least one record", "none")
    ]


def test_symlinked_image_file_leading_outside(tmp_path):
    png(tmp_path, "elsewhere/a.png")
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "a.png").symlink_to(tmp_path / "elsewhere" / "a.png")
    path = jsonl(tmp_path / "ds" / "t.jsonl", [sg()])
    assert [(p[0], p[1], p[7]) for p in problems(path)] == [
        (
            "image-outside",
            "image file is a link that leads out of the dataset folder",
            f"a link to {(tmp_path / 'elsewhere' / 'a.png').resolve()}",
        )
    ]
    assert problems(path, open_images=False) == []  # links are only followed when files are opened


def test_dataset_info_as_llamafactory_reads_it(tmp_path):
    """No columns: LLaMA-Factory reads 'conversations' and no images. No tags: from/value/human/gpt.
    Tags without system_tag: a system turn makes it skip the record."""
    png(tmp_path)
    jsonl(tmp_path / "a.jsonl", [sg()])
    sys_first = sg()
    sys_first["messages"].insert(0, {"role": "system", "content": "Be brief."})
    jsonl(tmp_path / "b.jsonl", [sg(), sys_first])
    info = {
        "bare": {"file_name": "a.jsonl", "formatting": "sharegpt"},
        "tagged": {
            "file_name": "b.jsonl",
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images"},
            "tags": TAGS,
        },
    }
    (tmp_path / "dataset_info.json").write_text(json.dumps(info))
    got = [
        (p.code, p.message, Path(p.where.file).name, p.where.record, p.where.path, p.expected, p.found)
        for p in validate(tmp_path).problems
    ]
    assert got == [
        (
            "dataset-info",
            "column 'conversations' is in no record of a.jsonl (LLaMA-Factory's default for messages: the entry has no columns)",
            "dataset_info.json",
            None,
            "$.bare.columns.messages",
            "records with a 'conversations' key",
            "none of 1 record(s)",
        ),
        (
            "dataset-info",
            "records have images but columns does not name the images column: LLaMA-Factory drops them",
            "dataset_info.json",
            None,
            "$.bare.columns.images",
            '"images": "images"',
            "missing",
        ),
        (
            "lf-role",
            "LLaMA-Factory skips this record: the role is none of the entry's tags",
            "b.jsonl",
            1,
            "$.messages[0].role",
            "one of user|assistant",
            "'system'",
        ),
    ]


def test_dataset_info_default_tags_with_role_content_turns(tmp_path):
    png(tmp_path)
    jsonl(tmp_path / "a.jsonl", [sg()])
    info = {
        "d": {
            "file_name": "a.jsonl",
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images"},
        }
    }
    (tmp_path / "dataset_info.json").write_text(json.dumps(info))
    [p] = validate(tmp_path).problems
    assert (p.code, p.message, p.where.path, p.expected, p.found) == (
        "lf-tags",
        "LLaMA-Factory reads the text of each turn from 'value', which this turn lacks",
        "$.messages[0]",
        "a 'value' key",
        "content/role",
    )


def test_canonical_rows_with_nulls(tmp_path):
    """Arrow allows nulls anywhere; the row checks report them instead of crashing."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vlmdata.record import ARROW_SCHEMA

    rec = _canonical([_png_bytes()])
    rows = [
        dict(rec, messages=[None, rec["messages"][1]]),
        dict(
            rec,
            messages=[
                {"role": "user", "content": [None, {"type": "image", "text": None}]},
                rec["messages"][1],
            ],
        ),
        dict(rec, id=None, messages=None, images=[None]),
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=ARROW_SCHEMA), tmp_path / "train-00000-of-00001.parquet")
    got = [(p.code, p.where.record, p.where.path) for p in validate(tmp_path).problems]
    assert got == [
        ("type", 0, "$.messages[0]"),
        ("role-order", 0, "$.messages[1].role"),
        ("image-count", 0, "$.images"),
        ("type", 1, "$.messages[0].content[0]"),
        ("missing-field", 2, "$.id"),
        ("empty-conversation", 2, "$.messages"),
        ("image-value", 2, "$.images[0]"),
        ("image-count", 2, "$.images"),
    ]


def test_unreadable_file_is_a_problem(tmp_path, monkeypatch):
    import vlmdata.validate as v

    def fail(*args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(v, "_validate_json", fail)
    (tmp_path / "t.jsonl").write_text("{}\n")
    assert problems(tmp_path / "t.jsonl") == [
        (
            "io",
            "cannot read file: Permission denied",
            "t.jsonl",
            None,
            None,
            "$",
            "a readable file",
            "unreadable",
        )
    ]


def test_parallel_validation_reports_what_one_process_does(tmp_path):
    """Large JSONL files are split into byte ranges checked by forked workers: same problems, same
    files, lines and record indexes, same counts as one process."""
    from vlmdata.validate import parallel

    png(tmp_path)
    lines = []
    for i in range(400):
        rec = sg(user=f"<image>q{i}")
        if i % 97 == 5:
            rec = sg(answer="  ")  # an empty answer
        lines.append(json.dumps(rec))
        if i % 131 == 7:
            lines.append("{not json")
        if i % 150 == 3:
            lines.append("")  # a blank line: skipped, but it counts as a line
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n")
    serial = validate(path).to_dict()
    # In a fresh process: validate refuses to fork while other threads run, and earlier tests in this
    # session (the viewer's TestClient, for one) leave some behind.
    script = (
        "import json, sys\n"
        "from vlmdata.validate import parallel, validate\n"
        "parallel.MIN_BYTES = 0\n"
        "parallel.jobs_available = lambda: 3\n"
        "calls = []\n"
        "real = parallel.validate_spans\n"
        "parallel.validate_spans = lambda *a: calls.append(a) or real(*a)\n"
        "report = validate(sys.argv[1]).to_dict()\n"
        "print(json.dumps({'calls': len(calls), 'report': report}, default=str))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    split = result["report"]
    serial = json.loads(json.dumps(serial, default=str))
    assert result["calls"] == 1 and len(parallel.spans(path, 3)) == 3
    for key in ("problems", "records", "bad_records", "images", "counts", "files"):
        assert split[key] == serial[key], key
    assert serial["bad_records"] == 8 and serial["records"] == 403
