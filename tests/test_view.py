"""`vlmdata view`: every route through Starlette's TestClient, bad parameters, path traversal, the CLI."""

from __future__ import annotations

import io
import re
import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner
from PIL import Image

from data_helpers import REPO
from view_helpers import (
    BAD_MESSAGE,
    BAD_POS,
    N_RECORDS,
    canonical_records,
    make_canonical,
    make_sharegpt_folder,
)
from vlmdata.cli import cli
from vlmdata.formats import RECORD_FORMATS

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from vlmdata.view.app import create_app  # noqa: E402


def client(path, counter=None) -> TestClient:
    app = create_app(path, counter, allowed_hosts=["testserver"])
    assert app.state.index.wait(60), "indexing did not finish"
    assert app.state.index.error is None
    return TestClient(app)


@pytest.fixture(scope="module")
def canonical_dir(tmp_path_factory):
    return make_canonical(tmp_path_factory.mktemp("view") / "canon")


@pytest.fixture(scope="module")
def c(canonical_dir):
    return client(canonical_dir)


@pytest.fixture(scope="module")
def lf(tmp_path_factory):
    folder = make_sharegpt_folder(tmp_path_factory.mktemp("view-lf") / "lf")
    return client(folder)


def articles(html: str) -> list[str]:
    return re.findall(r'<article class="record[^"]*" id="r(\d+)"', html)


# -- the list -----------------------------------------------------------------------------------------


def test_first_page_lists_twenty_records_of_45(c):
    r = c.get("/")
    assert r.status_code == 200
    assert articles(r.text) == [str(i) for i in range(20)]
    assert '<span id="total">45</span> records' in r.text
    assert "page 1 of 3" in r.text
    assert 'href="/?page=2"' in r.text
    assert r.text.count('<img class="thumb"') == sum(i % 3 for i in range(20))


def test_last_page_and_per(c):
    assert articles(c.get("/?page=3").text) == [str(i) for i in range(40, 45)]
    assert articles(c.get("/?per=50").text) == [str(i) for i in range(45)]
    data = c.get("/api/records?page=2&per=10").json()
    assert (data["total"], data["page"], data["pages"]) == (45, 2, 5)
    assert [r["pos"] for r in data["records"]] == list(range(10, 20))


def test_record_json_shape(c):
    rec = c.get("/api/records?per=3").json()["records"][2]
    assert rec["id"] == "rec-002" and rec["source"] == "cam-a" and rec["split"] == "train"
    assert rec["file"] == "train-00000-of-00001.parquet" and rec["index"] == 2
    assert rec["turns"][0] == {
        "role": "user",
        "parts": [
            {"kind": "image", "k": 0},
            {"kind": "image", "k": 1},
            {"kind": "text", "text": "What is it?"},
        ],
    }
    assert rec["turns"][1] == {
        "role": "assistant",
        "parts": [{"kind": "text", "text": "Answer 2: a plain square."}],
    }
    assert rec["problems"] == [] and rec["n_images"] == 2 and rec["tokens"] is None


@pytest.mark.parametrize(
    "query, expected",
    [
        ("q=rec-01", [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]),  # id
        ("q=REC-044", [44]),  # case-insensitive
        ("q=red square", [0, 5, 10, 15, 20, 25, 30, 35, 40]),  # text of a turn
        ("q=And then", [BAD_POS]),
        ("q=nothing-like-this", []),
        ("source=cam-b&images=1", [1, 7, 13, 19, 25, 31, 37, 43]),
        ("images=0&q=red", [0, 15, 30]),
        ("turns=3", [BAD_POS]),
        ("problems=yes", [BAD_POS]),
        ("problems=no&images=2&source=cam-a", [2, 8, 14, 20, 26, 32, 38, 44]),
    ],
)
def test_search_and_filters(c, query, expected):
    data = c.get(f"/api/records?per=200&{query}").json()
    assert [r["pos"] for r in data["records"]] == expected
    assert data["total"] == len(expected)
    html = c.get(f"/?per=200&{query}").text
    assert articles(html) == [str(p) for p in expected]


@pytest.mark.parametrize(
    "query, status, message",
    [
        ("page=0", 400, "page must be at least 1, got 0"),
        ("page=abc", 400, "page must be a whole number, got 'abc'"),
        ("page=4", 404, "no page 4: 45 records make 3 page(s)"),
        ("per=201", 400, "per must be between 1 and 200, got 201"),
        ("images=-1", 400, "images must be between 0 and 10000, got -1"),
        ("turns=1.5", 400, "turns must be a whole number, got '1.5'"),
        ("problems=maybe", 400, "problems must be yes or no, got 'maybe'"),
        ("source=../../etc/passwd", 400, "no record has source '../../etc/passwd'"),
        ("over=yes", 400, "over needs the server started with --model and --max-length"),
        ("file=/etc/passwd", 400, "unknown parameter(s): file"),
        ("path=..%2F..%2Fetc%2Fpasswd&page=1", 400, "unknown parameter(s): path"),
    ],
)
def test_bad_list_parameters(c, query, status, message):
    r = c.get(f"/api/records?{query}")
    assert (r.status_code, r.json()) == (status, {"error": message})
    html = c.get(f"/?{query}")
    assert html.status_code == status and message.replace("'", "&#39;") in html.text


# -- one record -----------------------------------------------------------------------------------------


def test_record_page_is_the_permalink(c):
    r = c.get("/record/12")
    assert r.status_code == 200
    assert articles(r.text) == ["12"] and "rec-012" in r.text
    assert 'href="/record/11"' in r.text and 'href="/record/13"' in r.text
    assert c.get("/api/record/12").json()["id"] == "rec-012"


def test_problem_record_shows_validate_message(c, canonical_dir):
    from vlmdata.validate import validate

    (expected,) = [p for p in validate(canonical_dir).problems if p.where.record == BAD_POS]
    assert expected.message == BAD_MESSAGE
    rec = c.get(f"/api/record/{BAD_POS}").json()
    assert rec["problems"] == [expected.to_dict()]
    html = c.get(f"/record/{BAD_POS}").text
    assert "1 problem</span>" in html and BAD_MESSAGE.replace("'", "&#39;") in html
    assert "fix: drop the trailing turn or add the assistant&#39;s answer" in html


@pytest.mark.parametrize(
    "url", ["/record/45", "/record/99999999999", "/record/-1", "/record/abc", "/record/..%2F..%2Fetc%2Fpasswd",
            "/record/../../etc/passwd", "/api/record/45", "/api/record/-1"]
)  # fmt: skip
def test_record_out_of_range_is_404(c, url):
    assert c.get(url).status_code == 404


def test_labels_need_a_model(c):
    r = c.get("/api/labels/0")
    assert (r.status_code, r.json()) == (404, {"error": "label masks need --model"})
    assert c.get("/api/labels/45").status_code == 404


# -- images -----------------------------------------------------------------------------------------


def decoded(r) -> Image.Image:
    assert r.status_code == 200, r.text
    im = Image.open(io.BytesIO(r.content))
    im.load()
    return im


def test_thumbnail_from_stored_bytes(c):
    rec = canonical_records()[40]
    with Image.open(io.BytesIO(rec["images"][0]["bytes"])) as original:
        assert original.size == (88, 32)
    im = decoded(c.get("/image/40/0?size=64"))
    assert im.format == "JPEG" and im.size == (64, 23)
    assert decoded(c.get("/image/40/0")).size == (88, 32)  # 256: never enlarged
    assert decoded(c.get("/image/40/0?full=1")).size == (88, 32)
    assert decoded(c.get("/image/41/1?size=128")).size == (89, 32)


@pytest.mark.parametrize(
    "url, status, message",
    [
        ("/image/0/0", 404, "record 0 has no image 0"),  # record 0 has no images
        ("/image/40/1", 404, "record 40 has no image 1"),
        ("/image/45/0", 404, "no record 45: the dataset has 45 records"),
        ("/image/1/0?size=1000", 400, "size must be one of 64, 128, 256, 512, got '1000'"),
        ("/image/1/0?path=/etc/passwd", 400, "unknown parameter(s): path"),
    ],
)
def test_bad_image_requests(c, url, status, message):
    r = c.get(url)
    assert (r.status_code, r.json()) == (status, {"error": message})


@pytest.mark.parametrize(
    "url", ["/image/1/-1", "/image/-1/0", "/image/1/x", "/image/1/..%2F..%2Fetc%2Fpasswd",
            "/image/../../etc/passwd", "/image/1/0/../../../../etc/passwd", "/image/1"]
)  # fmt: skip
def test_image_path_traversal_is_404(c, url):
    assert c.get(url).status_code == 404


def test_corrupt_image_is_404_not_bytes(tmp_path):
    from data_helpers import record, write_canonical

    rec = record(id="broken", images=1)
    rec["images"][0]["bytes"] = b"\x89PNG this is not an image"
    cl = client(write_canonical(tmp_path / "broken", [rec]))
    r = cl.get("/image/0/0")
    assert r.status_code == 404 and r.json()["error"].startswith(
        "record 0 image 0 cannot be shown: not a readable"
    )
    assert cl.get("/api/record/0").json()["problems"][0]["code"] == "image-corrupt"


# -- JSON datasets: images on disk -----------------------------------------------------------------------


def test_sharegpt_folder_records_and_images(lf):
    data = lf.get("/api/records").json()
    assert data["total"] == 6
    assert [r["readable"] for r in data["records"]] == [True, True, False, False, True, True]
    assert decoded(lf.get("/image/0/0")).size == (40, 30)
    assert decoded(lf.get("/image/1/0?full=1")).size == (40, 30)


def test_unreadable_record_shows_raw_and_validate_problem(lf):
    rec = lf.get("/api/record/2").json()
    assert rec["readable"] is False and '"<image><image>Compare them."' in rec["raw"]
    assert [p["code"] for p in rec["problems"]] == ["image-count"]
    assert (
        rec["problems"][0]["message"]
        == "number of images (1) does not match number of <image> placeholders (2)"
    )
    html = lf.get("/record/2").text
    assert "This record cannot be read" in html and "number of images (1) does not match" in html


def test_only_dataset_images_are_served(lf):
    # ../secret.png exists next to the folder: the reader refuses it, so there is no image to serve
    assert lf.get("/image/3/0").status_code == 404
    assert lf.get("/api/record/3").json()["problems"][0]["code"] == "image-outside"
    # notes.txt is a file of the folder but not an image: never sent as it is
    r = lf.get("/image/4/0?full=1")
    assert r.status_code == 404 and b"not an image" not in r.content
    assert lf.get("/image/5/0").status_code == 404


def test_symlink_out_of_the_dataset_is_not_served(tmp_path):
    folder = make_sharegpt_folder(tmp_path / "lf")
    (folder / "images" / "0.png").unlink()
    (folder / "images" / "0.png").symlink_to(tmp_path / "secret.png")
    cl = client(folder)
    assert cl.get("/image/0/0").status_code == 404
    assert cl.get("/api/record/0").json()["problems"][0]["code"] == "image-outside"


@pytest.mark.parametrize("fmt", RECORD_FORMATS)
def test_every_format_is_viewed(tmp_path, canonical_dir, fmt):
    from vlmdata.convert import convert

    # convert refuses the bad record (BAD_POS) unless told to skip it
    convert(canonical_dir, to=fmt, out=tmp_path / fmt, allow_lossy=True, skip_invalid=True,
            writer_options={"llava_image_list": True})  # fmt: skip
    cl = client(tmp_path / fmt)
    data = cl.get("/api/records?per=200").json()
    assert data["total"] == N_RECORDS - 1
    assert [r["id"] for r in data["records"]] == [f"rec-{i:03d}" for i in range(N_RECORDS) if i != BAD_POS]
    assert decoded(cl.get("/image/40/1")).size == (89, 32)  # rec-041, one place up
    assert [r["pos"] for r in cl.get("/api/records?q=rec-044").json()["records"]] == [43]
    assert [r["pos"] for r in cl.get("/api/records?images=2&q=red").json()["records"]] == [
        5,
        19,
        34,
    ]  # rec-005, -020, -035
    assert cl.get("/api/records?problems=yes").json()["total"] == 0


# -- summary, status, static, hosts ----------------------------------------------------------------------


def test_summary(c):
    s = c.get("/api/summary").json()
    assert s["records"] == 45 and s["bad_records"] == 1 and s["problem_counts"] == {"last-turn": 1}
    assert s["sources"] == [{"source": "cam-a", "records": 23}, {"source": "cam-b", "records": 22}]
    plots = {p["title"]: p for p in s["plots"]}
    assert plots["images per record"]["bars"] == [{"label": str(k), "count": 15} for k in range(3)]
    assert plots["turns per record"]["bars"] == [{"label": "2", "count": 44}, {"label": "3", "count": 1}]
    assert plots["image height (px)"]["bars"] == [{"label": "32", "count": 30}]
    assert sum(b["count"] for b in plots["image width (px)"]["bars"]) == 30
    html = c.get("/summary").text
    assert html.count('<svg class="plot"') == 4 and "last-turn × 1" in html


def test_status_and_static(c):
    assert c.get("/api/status").json() == {
        "records": 45, "indexed": 45, "validated": True, "counted": None, "done": True, "error": None
    }  # fmt: skip
    assert c.get("/static/view.css").status_code == 200
    assert c.get("/static/view.js").headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize(
    "url", ["/static/../app.py", "/static/..%2Fapp.py", "/static/%2e%2e/%2e%2e/pyproject.toml",
            "/static//etc/passwd", "/static/templates/../../app.py", "/app.py", "/templates/base.html"]
)  # fmt: skip
def test_static_traversal_is_404(c, url):
    r = c.get(url)
    assert r.status_code == 404 and b"create_app" not in r.content


def test_other_host_header_is_refused(canonical_dir):
    app = create_app(canonical_dir, start_index=False)  # default: loopback names only
    cl = TestClient(app, base_url="http://127.0.0.1:8765")
    assert cl.get("/api/status").status_code == 200
    assert cl.get("/api/status", headers={"host": "attacker.example"}).status_code == 400


# -- the command -------------------------------------------------------------------------------------


def test_cli_errors(canonical_dir):
    r = CliRunner().invoke(cli, ["view", str(canonical_dir), "--max-length", "10"])
    assert r.exit_code == 2
    assert r.output == "Error: --max-length needs --model (the token limit applies to that model's counts)\n"
    r = CliRunner().invoke(cli, ["view", str(canonical_dir / "nope")])
    assert r.exit_code == 2 and "does not exist" in r.output
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = CliRunner().invoke(cli, ["view", str(canonical_dir), "--port", str(port)])
    assert r.exit_code == 2
    assert (
        r.output == f"Error: cannot listen on 127.0.0.1:{port}: Address already in use; pass another --port\n"
    )


def test_cli_on_a_file_that_is_not_data(tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n")
    r = CliRunner().invoke(cli, ["view", str(tmp_path / "x.csv")])
    assert r.exit_code == 2
    assert (
        r.output
        == f"Error: {tmp_path / 'x.csv'}: unsupported file type '.csv'; expected .json, .jsonl or .parquet\n"
    )


def test_vlmdata_cli_does_not_import_the_web_stack():
    code = "import sys, vlmdata.cli; print(sorted(m for m in ('starlette', 'uvicorn', 'jinja2', 'vlmdata.view') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout == "[]\n"


def test_cli_serves_and_prints_the_url(canonical_dir):
    import urllib.request

    proc = subprocess.Popen(
        [sys.executable, "-m", "vlmdata", "view", str(canonical_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        m = re.fullmatch(
            rf"Serving {re.escape(str(canonical_dir))} at (http://127\.0\.0\.1:\d+/) \(Ctrl-C to stop\)\n",
            line,
        )
        assert m, line
        with urllib.request.urlopen(m.group(1), timeout=30) as resp:
            assert resp.status == 200 and b'<span id="total">45</span>' in resp.read()
    finally:
        proc.terminate()
        proc.wait(30)


# -- more shapes and states -------------------------------------------------------------------------------


def test_jsonl_with_a_bad_line(tmp_path):
    import json

    good = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]},
                         {"role": "assistant", "content": [{"type": "text", "text": "hello"}]}]}  # fmt: skip
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps(good) + "\n{not json\n\n" + json.dumps(good) + "\n")
    cl = client(path)
    data = cl.get("/api/records").json()
    assert data["total"] == 3
    assert [(r["index"], r["line"], r["readable"]) for r in data["records"]] == [
        (0, 1, True),
        (1, 2, False),
        (2, 4, True),
    ]
    bad = data["records"][1]
    assert bad["error"]["code"] == "json" and [p["code"] for p in bad["problems"]] == ["json"]
    assert bad["raw"] is None
    assert "This record cannot be read: malformed JSON" in cl.get("/record/1").text
    assert [r["pos"] for r in cl.get("/api/records?q=hello").json()["records"]] == [0, 2]


def test_problems_before_validate_finished_are_the_same(canonical_dir):
    """Before the background validate is done, the shown records get validate's own per-record checks."""
    from vlmdata.validate import validate

    expected = [p.to_dict() for p in validate(canonical_dir).problems]
    app = create_app(canonical_dir, allowed_hosts=["testserver"], start_index=False)
    cl = TestClient(app)
    rec = cl.get(f"/api/record/{BAD_POS}").json()
    assert rec["problems"] == expected and rec["validated"] is False
    listed = cl.get("/api/records?per=50").json()["records"]
    assert [p for r in listed for p in r["problems"]] == expected
    assert "record checks pass</span>" in cl.get("/record/0").text
    assert BAD_MESSAGE.replace("'", "&#39;") in cl.get(f"/record/{BAD_POS}").text
    status = cl.get("/api/status").json()
    assert (status["indexed"], status["validated"], status["done"]) == (0, False, False)
    assert "indexing: 0 of 45 records counted, validate running" in cl.get("/").text


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_read_only(c, method):
    assert getattr(c, method)("/").status_code == 405
    assert getattr(c, method)("/api/record/0").status_code == 405


def test_any_host_only_when_listening_beyond_loopback(canonical_dir):
    from vlmdata.view import Viewer

    local = Viewer.bind(canonical_dir, port=0)
    wide = Viewer.bind(canonical_dir, host="0.0.0.0", port=0)
    try:
        assert local.loopback and local.url == f"http://127.0.0.1:{local.port}/"
        assert not wide.loopback and wide.url.startswith("http://0.0.0.0:")
        assert TestClient(local.app).get("/api/status", headers={"host": "10.0.0.5"}).status_code == 400
        assert TestClient(wide.app).get("/api/status", headers={"host": "10.0.0.5"}).status_code == 200
    finally:
        local.sock.close()
        wide.sock.close()


def test_histogram_bins():
    import numpy as np

    from vlmdata.view.plots import histogram

    few = histogram(np.array([1, 1, 3, -1]), "images")
    assert few["count"] == 3 and few["bars"] == [{"label": "1", "count": 2}, {"label": "2", "count": 0},
                                                 {"label": "3", "count": 1}]  # fmt: skip
    wide = histogram(np.arange(1000), "tokens")
    assert len(wide["bars"]) == 20 and sum(b["count"] for b in wide["bars"]) == 1000
    assert wide["bars"][0]["label"] == "0–49" and "<title>" in wide["svg"]


def test_page_checks_of_a_sharegpt_folder_match_validate(tmp_path):
    from vlmdata.validate import validate

    folder = make_sharegpt_folder(tmp_path / "lf")
    expected = {}
    for p in validate(folder).problems:
        expected.setdefault(p.where.record, []).append(p.to_dict())
    assert sorted(expected) == [2, 3, 4]
    cl = TestClient(create_app(folder, allowed_hosts=["testserver"], start_index=False))
    records = cl.get("/api/records").json()["records"]
    assert {r["pos"]: r["problems"] for r in records if r["problems"]} == expected


def test_absolute_path_to_a_non_image_is_never_sent(tmp_path):
    import json

    secret = tmp_path / "secret.txt"
    secret.write_text("password=hunter2")
    folder = tmp_path / "data"
    folder.mkdir()
    rec = {"messages": [{"role": "user", "content": "<image>What is it?"}, {"role": "assistant", "content": "x"}],
           "images": [str(secret)]}  # fmt: skip
    (folder / "train.json").write_text(json.dumps([rec]))
    cl = client(folder)
    for url in ("/image/0/0", "/image/0/0?full=1", "/image/0/0?size=64"):
        r = cl.get(url)
        assert r.status_code == 404 and b"hunter2" not in r.content
    assert [p["code"] for p in cl.get("/api/record/0").json()["problems"]] == ["image-corrupt"]


def test_parquet_with_rows_in_a_record_format(tmp_path):
    """A Parquet file laid out like HuggingFaceH4/llava-instruct-mix-vsft: OAI messages, images as bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from data_helpers import png_bytes

    rows = [
        {
            "messages": [
                {"role": "user", "content": [{"type": "image", "text": None, "index": 0},
                                             {"type": "text", "text": f"question {i}", "index": None}]},
                {"role": "assistant", "content": [{"type": "text", "text": f"answer {i}", "index": None}]},
            ],
            "images": [{"bytes": png_bytes((10 * i, 0, 0), size=(40 + i, 30)), "path": None}],
        }
        for i in range(5)
    ]  # fmt: skip
    folder = tmp_path / "hf"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), folder / "train-00000-of-00001.parquet", row_group_size=2)
    cl = client(folder)
    data = cl.get("/api/records").json()
    assert data["total"] == 5 and all(r["readable"] for r in data["records"])
    assert data["records"][3]["turns"][1]["parts"] == [{"kind": "text", "text": "answer 3"}]
    assert decoded(cl.get("/image/3/0")).size == (43, 30)
    assert [r["pos"] for r in cl.get("/api/records?q=answer 4").json()["records"]] == [4]


def test_pages_across_row_groups(tmp_path):
    """Pages inside a row group's head, past it, and across row group boundaries read the right rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from data_helpers import record
    from vlmdata.record import ARROW_SCHEMA
    from vlmdata.view.source import HEAD_ROWS

    n = 3 * HEAD_ROWS + 50
    recs = [record(id=f"r{i:04d}", images=1 if i % 7 == 0 else 0) for i in range(n)]
    folder = tmp_path / "groups"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(recs, schema=ARROW_SCHEMA), folder / "train.parquet",
                   row_group_size=HEAD_ROWS + 30)  # fmt: skip
    cl = client(folder)
    per = 40
    for page in range(1, -(-n // per) + 1):
        ids = [r["id"] for r in cl.get(f"/api/records?per={per}&page={page}").json()["records"]]
        assert ids == [f"r{i:04d}" for i in range((page - 1) * per, min(n, page * per))]
    for pos in (0, HEAD_ROWS - 1, HEAD_ROWS, HEAD_ROWS + 29, HEAD_ROWS + 30, n - 1):
        assert cl.get(f"/api/record/{pos}").json()["id"] == f"r{pos:04d}"
    assert decoded(cl.get(f"/image/{7 * 33}/0")).size == (32, 32)
    assert cl.get("/api/records?images=1").json()["total"] == len(range(0, n, 7))


def test_without_the_view_extra(canonical_dir, monkeypatch):
    for name in [m for m in sys.modules if m.startswith(("vlmdata.view", "starlette"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "starlette", None)  # as if it were not installed
    r = CliRunner().invoke(cli, ["view", str(canonical_dir)])
    assert r.exit_code == 2
    assert (
        r.output
        == "Error: vlmdata view needs the [view] extra (starlette is missing): pip install 'vlmkit[view]'\n"
    )


def test_source_filter_before_the_index_is_built(canonical_dir):
    cl = TestClient(create_app(canonical_dir, allowed_hosts=["testserver"], start_index=False))
    r = cl.get("/api/records?source=cam-a")  # not known yet: no record matches so far, not an error
    assert r.status_code == 200 and r.json()["total"] == 0
