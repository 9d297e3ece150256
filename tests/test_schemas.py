"""The JSON Schemas and the code agree.

- Every record a format reader accepts passes that format's schema (wild records: valid ones with a
  random part replaced by a random JSON value).
- Every schema-valid record is accepted by the reader, or the reader's rejection is one that validate's
  semantic or image checks report too (same problem code): what validate passes, convert reads.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from vlmdata.errors import RecordError
from vlmdata.formats import FORMATS, RECORD_FORMATS, detect_format
from vlmdata.formats.base import ReadContext
from vlmdata.validate.images import ImageChecker
from vlmdata.validate.schema import SCHEMA_NAMES, SchemaChecker, load_schema


def _png_b64() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


B64 = _png_b64()
IMAGES = st.sampled_from(
    [
        "a.png",
        "sub/b.png",
        "missing.png",
        "../outside.png",
        "https://example.com/x.png",
        f"data:image/png;base64,{B64}",
        "data:image/png;base64,@@@",
        "data:image/png,raw",
        {"path": "a.png"},
        {"bytes": B64, "path": None},
        {"bytes": B64},
        {"bytes": None, "path": "sub/b.png"},
    ]
)
TEXT = st.sampled_from(["", " ", "hi", "<image>", "a<image>b", "<image>\nwhat?", "<image><image>"]) | st.text(
    max_size=6
)
IDS = st.none() | st.text(max_size=4) | st.integers(0, 99)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ds") / "ds"
    (root / "sub").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(root / "a.png")
    Image.new("RGB", (8, 8)).save(root / "sub" / "b.png")
    Image.new("RGB", (8, 8)).save(root.parent / "outside.png")
    return root


def _with_id(record: dict, id_) -> dict:
    if id_ is not None:
        record["id"] = id_
    return record


@st.composite
def oai_records(draw) -> dict:
    def part():
        return st.one_of(
            st.builds(lambda t: {"type": "text", "text": t}, TEXT),
            st.builds(lambda t: {"type": "text", "value": t}, TEXT),
            st.just({"type": "image"}),
            st.just({"type": "image", "text": None}),
            st.builds(lambda v: {"type": "image", "image": v}, IMAGES),
            st.builds(
                lambda v: {"type": "image_url", "image_url": {"url": v}},
                IMAGES.filter(lambda v: isinstance(v, str)),
            ),
            st.builds(
                lambda v: {"type": "image_url", "value": v}, IMAGES.filter(lambda v: isinstance(v, str))
            ),
        )

    message = st.fixed_dictionaries(
        {
            "role": st.sampled_from(["system", "user", "assistant"]),
            "content": TEXT | st.lists(part(), max_size=3),
        }
    )
    record = {"messages": draw(st.lists(message, max_size=4))}
    images = draw(st.none() | st.just("absent") | st.lists(IMAGES, max_size=3))
    if images != "absent":
        record["images"] = images
    return _with_id(record, draw(IDS))


@st.composite
def sharegpt_records(draw) -> dict:
    style = draw(
        st.sampled_from(
            [
                ("role", "content", ["user", "assistant", "system", "human", "gpt"]),
                ("from", "value", ["human", "gpt", "system", "user", "assistant"]),
            ]
        )
    )
    role_key, text_key, roles = style
    turn = st.builds(lambda r, t: {role_key: r, text_key: t}, st.sampled_from(roles), TEXT)
    key = draw(st.sampled_from(["messages", "conversations"]))
    record = {key: draw(st.lists(turn, max_size=4))}
    images = draw(
        st.none()
        | st.just("absent")
        | IMAGES.filter(lambda v: isinstance(v, str))
        | st.lists(IMAGES, max_size=3)
    )
    if images != "absent":
        record["images"] = images
    if draw(st.booleans()):
        record["system"] = draw(TEXT)
    return _with_id(record, draw(IDS))


@st.composite
def llava_records(draw) -> dict:
    turn = st.builds(lambda r, t: {"from": r, "value": t}, st.sampled_from(["human", "gpt"]), TEXT)
    record = {"conversations": draw(st.lists(turn, max_size=4))}
    image = draw(st.just("absent") | st.none() | IMAGES | st.lists(IMAGES, max_size=2))
    if image != "absent":
        record["image"] = image
    return _with_id(record, draw(IDS))


STRATEGIES = {"oai": oai_records(), "sharegpt": sharegpt_records(), "llava": llava_records()}
WILD = (
    st.none()
    | st.booleans()
    | st.integers(-2, 2)
    | st.text(max_size=3)
    | st.just([])
    | st.just({})
    | st.just([1])
)


@st.composite
def mutated(draw, base):
    """A valid record with one value somewhere inside replaced by a random JSON value (or a key dropped)."""
    record = json.loads(json.dumps(draw(base)))
    slots = []

    def walk(node):
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            slots.append((node, k))
            walk(v)

    walk(record)
    if not slots:
        return record
    node, key = draw(st.sampled_from(slots))
    if isinstance(node, dict) and draw(st.booleans()):
        del node[key]
    else:
        node[key] = draw(WILD)
    return record


def _read(fmt: str, raw: dict, folder: Path):
    ctx = ReadContext("t.jsonl", folder, folder)
    return FORMATS[fmt].to_canonical(raw, ctx)


def _validate_codes(fmt: str, raw: dict, folder: Path) -> set[str]:
    problems = SchemaChecker(fmt).problems(raw)
    sem, refs = FORMATS[fmt].check(raw)
    problems += sem
    checker = ImageChecker(folder, "header")
    for path, value, _kind in refs:
        problems += checker.check(value, path, str(folder))
    return {p.code for p in problems}


SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays deterministic
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def test_schemas_are_valid_draft_2020_12():
    for name in SCHEMA_NAMES:
        jsonschema.Draft202012Validator.check_schema(load_schema(name))


@pytest.mark.parametrize("fmt", RECORD_FORMATS)
def test_strategies_make_schema_valid_records(fmt):
    validator = jsonschema.Draft202012Validator(load_schema(fmt))

    @SETTINGS
    @given(STRATEGIES[fmt])
    def check(raw):
        assert list(validator.iter_errors(raw)) == []

    check()


@pytest.mark.parametrize("fmt", RECORD_FORMATS)
def test_schema_valid_records_are_read_or_rejected_by_validate_too(fmt, folder):
    @SETTINGS
    @given(STRATEGIES[fmt])
    def check(raw):
        codes = _validate_codes(fmt, raw, folder)
        try:
            _read(fmt, raw, folder)
        except RecordError as exc:
            assert exc.problem.code in codes, (exc.problem.describe(), codes)

    check()


@pytest.mark.parametrize("fmt", RECORD_FORMATS)
def test_records_the_reader_accepts_pass_the_schema(fmt, folder):
    validator = jsonschema.Draft202012Validator(load_schema(fmt))

    @SETTINGS
    @given(mutated(STRATEGIES[fmt]))
    def check(raw):
        try:
            _read(fmt, raw, folder)
        except RecordError:
            return
        assert [e.message for e in validator.iter_errors(raw)] == []

    check()


@pytest.mark.parametrize("fmt", RECORD_FORMATS)
def test_detected_format_matches(fmt):
    """Records of the strategies that detection assigns to a format pass that format's schema."""

    @SETTINGS
    @given(STRATEGIES[fmt])
    def check(raw):
        name = detect_format(raw)
        if name is not None:
            assert SchemaChecker(name).problems(raw) == [] or name != fmt

    check()


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from(["", "user", "gpt", "<image>", "a.png", "text"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "role",
                    "from",
                    "content",
                    "value",
                    "type",
                    "text",
                    "image",
                    "image_url",
                    "url",
                    "bytes",
                    "path",
                ]
            ),
            inner,
            max_size=3,
        )
    ),
    max_leaves=12,
)


@pytest.mark.parametrize("fmt", RECORD_FORMATS)
def test_no_record_makes_the_checks_crash(fmt, folder):
    """Whatever a record holds, the checks return problems; they never raise (no traceback for bad input)."""
    keys = {"oai": ["messages", "images"], "sharegpt": ["messages", "conversations", "images", "system"]}
    keys["llava"] = ["conversations", "image"]
    records = mutated(STRATEGIES[fmt]) | st.dictionaries(st.sampled_from(keys[fmt] + ["id", "source"]), JSON)

    @SETTINGS
    @given(records)
    def check(raw):
        _validate_codes(fmt, raw, folder)
        try:
            _read(fmt, raw, folder)
        except RecordError:
            pass

    check()


def test_renamed_columns_never_crash(folder):
    from vlmdata.validate.schema import Renamer

    rename = Renamer(
        {"messages": "dialog", "images": "pics"}, {"role_tag": "who", "content_tag": "say", "user_tag": "me"}
    )
    keys = st.sampled_from(["dialog", "pics", "who", "say", "messages"])

    @SETTINGS
    @given(st.dictionaries(keys, JSON | st.lists(st.dictionaries(keys, JSON), max_size=3)))
    def check(raw):
        _validate_codes("sharegpt", rename(raw), folder)

    check()


@pytest.mark.parametrize(
    "fmt, raw, expected",
    [
        (
            "oai",
            {"messages": [{"role": "user", "content": 5}]},
            (
                "type",
                "5 is not of type 'string' or 'array'",
                "$.messages[0].content",
                "string|array",
                "integer",
            ),
        ),
        (
            "oai",
            {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
            (
                "missing-field",
                "'text' or 'value' or 'content' is a required property",
                "$.messages[0].content[0].text",
                "a value",
                "missing",
            ),
        ),
        (
            "oai",
            {"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]},
            (
                "enum",
                "'input_audio' is not one of ['text', 'image', 'image_url', 'image_path', 'image_binary', 'video', "
                "'video_url', 'audio', 'audio_url']",
                "$.messages[0].content[0].type",
                "one of text|image|image_url|image_path|image_binary|video|video_url|audio|audio_url",
                "'input_audio'",
            ),
        ),
        (
            "sharegpt",
            {"messages": [{"role": "user"}]},
            (
                "missing-field",
                "'content' is a required property",
                "$.messages[0].content",
                "a value",
                "missing",
            ),
        ),
        (
            "sharegpt",
            {"conversations": [{"from": "human", "value": 3}]},
            ("type", "3 is not of type 'string'", "$.conversations[0].value", "string", "integer"),
        ),
        (
            "sharegpt",
            {"messages": [], "images": 5},
            (
                "type",
                "5 is not of type 'null' or 'string' or 'array'",
                "$.images",
                "null|string|array",
                "integer",
            ),
        ),
        (
            "dataset_info",
            {"a": {"formatting": "sharegpt"}},
            (
                "missing-field",
                "'file_name' or 'hf_hub_url' or 'ms_hub_url' or 'om_hub_url' or 'script_url' or 'cloud_file_name' is a required property",
                "$.a.file_name",
                "a value",
                "missing",
            ),
        ),
    ],
)
def test_schema_messages_name_the_closest_branch(fmt, raw, expected):
    """anyOf failures name what the nearest alternative wanted, not "is not valid under any of the given schemas"."""
    [p] = SchemaChecker(fmt).problems(raw)
    assert (p.code, p.message, p.where.path, p.expected, p.found) == expected
