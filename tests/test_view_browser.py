"""`vlmdata view` in a real browser: Debian's headless Chromium driven by Playwright (never `playwright
install`: the machine is offline, .ci/run installs the `chromium` package). The server runs as the real
command in its own process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from view_helpers import BAD_MESSAGE, BAD_POS, N_RECORDS, make_canonical

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)


class Server:
    """`vlmdata view PATH --port 0 ...` in a subprocess; url once it listens; ready once indexed."""

    def __init__(self, path: Path, *extra: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vlmdata", "view", str(path), "--port", "0", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        m = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        if not m:
            self.proc.kill()
            raise AssertionError(f"no URL printed: {line!r} {self.proc.stderr.read()}")
        self.url = m.group(1)

    def wait_indexed(self, timeout: float = 120) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with urllib.request.urlopen(self.url + "api/status", timeout=10) as r:
                status = json.load(r)
            if status["done"]:
                assert status["error"] is None, status
                return status
            time.sleep(0.2)
        raise AssertionError("indexing did not finish")

    def close(self):
        self.proc.terminate()
        self.proc.wait(30)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_canonical(tmp_path_factory.mktemp("view-browser") / "canon")


def images_decoded(page) -> tuple[int, int]:
    """(images on the page, images the browser decoded)."""
    return page.evaluate(
        "() => [document.images.length,"
        " Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length]"
    )


def test_page_in_chromium(browser, dataset, tmp_path):
    server = Server(dataset)
    try:
        server.wait_indexed()
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server.url + "?per=50", wait_until="load")
        assert page.inner_text("#total") == str(N_RECORDS)
        assert page.locator("article.record").count() == N_RECORDS
        n, ok = images_decoded(page)
        assert n == sum(i % 3 for i in range(N_RECORDS)) and ok == n
        page.screenshot(path=str(tmp_path / "view-list.png"))

        # search narrows the list (the form, as a person uses it)
        page.fill("input[name=q]", "red square")
        page.press("input[name=q]", "Enter")
        page.wait_for_load_state("load")
        assert page.inner_text("#total") == "9"
        assert page.locator("article.record").count() == 9

        # "has problems" shows the one bad record with validate's message
        page.goto(server.url, wait_until="load")
        page.select_option("select[name=problems]", "yes")
        page.click("form.filters button[type=submit]")
        page.wait_for_load_state("load")
        cards = page.locator("article.record")
        assert cards.count() == 1 and cards.first.get_attribute("data-pos") == str(BAD_POS)
        assert page.inner_text("article.record .problem .message") == BAD_MESSAGE
        page.screenshot(path=str(tmp_path / "view-problem.png"), full_page=True)

        page.goto(server.url + "summary", wait_until="load")
        assert page.locator("svg.plot").count() == 4
        page.screenshot(path=str(tmp_path / "view-summary.png"), full_page=True)
    finally:
        server.close()


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory):
    pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("view-browser-model") / "tiny-qwen2vl"
    subprocess.run(
        [sys.executable, "-m", "vlmtrain", "make-tiny-model", "qwen2_vl", "--out", str(out)], check=True
    )
    return out


@pytest.mark.train
def test_label_highlight_in_chromium(browser, dataset, tiny_qwen, tmp_path):
    server = Server(dataset, "--model", str(tiny_qwen), "--max-length", "50")
    try:
        status = server.wait_indexed(300)
        assert status["counted"] == N_RECORDS
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server.url + "record/2", wait_until="load")
        trained = page.locator("section.labels pre.mask span.trained")
        assert trained.count() == 1 and trained.inner_text() == "Answer 2: a plain square.<|im_end|>"
        assert page.locator("section.labels pre.mask span.image").count() == 2
        assert page.locator("section.labels pre.mask span.masked").count() >= 3
        assert page.locator("article.record .tag.tokens").inner_text().endswith("tokens · over max length")
        n, ok = images_decoded(page)
        assert n == 2 and ok == 2
        page.screenshot(path=str(tmp_path / "view-labels.png"), full_page=True)

        # on the list, a record's label mask loads when its section is opened
        page.goto(server.url, wait_until="load")
        first = page.locator("details.labels").nth(1)
        first.locator("summary").click()
        page.wait_for_selector("details.labels[open] span.trained")
        assert first.locator("span.trained").inner_text() == "Answer 1: a plain square.<|im_end|>"
        page.screenshot(path=str(tmp_path / "view-list-labels.png"))
    finally:
        server.close()
