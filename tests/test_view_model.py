"""`vlmdata view --model`: token counts, over-length flags and label masks come from the token-counting
plugin (the counting `vlmtrain check` does), with a tiny Qwen2-VL built by `vlmtrain make-tiny-model`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from view_helpers import BAD_POS, N_RECORDS, make_canonical

pytestmark = [pytest.mark.slow, pytest.mark.train]
pytest.importorskip("starlette")
pytest.importorskip("torch")
from starlette.testclient import TestClient  # noqa: E402

from vlmdata.view.app import create_app  # noqa: E402


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory):
    out = tmp_path_factory.mktemp("view-model") / "tiny-qwen2vl"
    subprocess.run(
        [sys.executable, "-m", "vlmtrain", "make-tiny-model", "qwen2_vl", "--out", str(out)], check=True
    )
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_canonical(tmp_path_factory.mktemp("view-model-data") / "canon")


@pytest.fixture(scope="module")
def plugin_counts(tiny_qwen, dataset):
    """What the plugin itself says for every record (the reference the page must show)."""
    from vlmdata.errors import Location
    from vlmdata.token_counting import load_token_counter
    from vlmdata.view.source import ViewDataset

    ds = ViewDataset.open(dataset)
    records = [e.record for e in ds.entries(range(len(ds)), images=True)]
    counter = load_token_counter(tiny_qwen, 10_000)
    counts = counter.count([(Location(None, i), r) for i, r in enumerate(records)])
    return {c.record: c.length for c in counts.records}, counter, records


@pytest.fixture(scope="module")
def max_length(plugin_counts):
    lengths = sorted(plugin_counts[0].values())
    return lengths[len(lengths) // 2]  # about half the records are over it


@pytest.fixture(scope="module")
def c(tiny_qwen, dataset, max_length):
    from vlmdata.view.tokens import TokenCounter

    app = create_app(dataset, TokenCounter.load(tiny_qwen, max_length), allowed_hosts=["testserver"])
    assert app.state.index.wait(300) and app.state.index.error is None
    return TestClient(app)


def test_every_record_has_the_plugin_count(c, plugin_counts, max_length):
    lengths = plugin_counts[0]
    assert len(lengths) == N_RECORDS
    records = c.get("/api/records?per=200").json()["records"]
    assert {r["pos"]: r["tokens"] for r in records} == lengths
    assert {r["pos"] for r in records if r["over"]} == {i for i, n in lengths.items() if n > max_length}


def test_over_length_filter_and_summary(c, plugin_counts, max_length):
    over = sorted(i for i, n in plugin_counts[0].items() if n > max_length)
    assert 0 < len(over) < N_RECORDS
    data = c.get("/api/records?over=yes&per=200").json()
    assert [r["pos"] for r in data["records"]] == over
    assert data["total"] + c.get("/api/records?over=no").json()["total"] == N_RECORDS
    s = c.get("/api/summary").json()
    assert s["over_length"] == len(over) and s["status"]["counted"] == N_RECORDS
    (plot,) = [p for p in s["plots"] if p["title"] == "tokens per record"]
    assert plot["count"] == N_RECORDS and plot["note"] == f"max length {max_length}"
    html = c.get("/?over=yes").text
    assert f"over {max_length} tokens</option>" in html and "over max length</span>" in html


def test_label_mask_is_the_plugin_spans(c, plugin_counts):
    lengths, counter, records = plugin_counts
    expected = [{"kind": {"prompt": "masked", "train": "trained", "image": "image"}[k], "text": t}
                for t, k in counter.label_spans(records[2])]  # fmt: skip
    labels = c.get("/api/labels/2").json()
    assert labels == {"length": lengths[2], "segments": expected}
    assert {"kind": "trained", "text": "Answer 2: a plain square.<|im_end|>"} in labels["segments"]
    assert [s["text"] for s in labels["segments"] if s["kind"] == "image"] == ["<image x2>", "<image x2>"]
    html = c.get("/record/2").text
    assert '<span class="trained">Answer 2: a plain square.&lt;|im_end|&gt;</span>' in html
    assert f"Label mask: {lengths[2]} tokens" in html


def test_labels_of_a_problem_record_and_bad_positions(c):
    # the trailing user turn is validate's problem; the plugin still shows what would be trained
    assert c.get(f"/api/labels/{BAD_POS}").status_code == 200
    assert c.get(f"/api/labels/{N_RECORDS}").status_code == 404
    assert c.get("/api/labels/-1").status_code == 404
