"""`vlmdata view` shows a video part as a poster frame and a strip of frames spaced evenly, with their
times, and says that a model's own sampling is not applied yet (issue 20 item 1, data side)."""

from __future__ import annotations

import io

import pytest

from video_helpers import lf_dataset
from vlmdata.view.videos import NOTE

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from vlmdata.view.app import create_app  # noqa: E402


def client(path) -> TestClient:
    app = create_app(path, allowed_hosts=["testserver"])
    assert app.state.index.wait(60), "indexing did not finish"
    return TestClient(app)


def size_of(response) -> tuple[int, int]:
    from PIL import Image

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    return Image.open(io.BytesIO(response.content)).size


@pytest.fixture(scope="module")
def view(tmp_path_factory, vids):
    folder = tmp_path_factory.mktemp("view-videos")
    src = lf_dataset(folder / "lf", ["real", "rotated", "one_frame", "not_video"], vids)
    return client(src)


def test_record_page_shows_poster_strip_times_and_the_note(view):
    html = view.get("/record/0").text
    assert '<img class="thumb poster" src="/video/0/0/0?size=256"' in html
    assert "video 0: 5.0 s, 150 frames at 30.0 fps, 224x224, h264" in html
    times = ["0.000", "0.700", "1.433", "2.133", "2.833", "3.533", "4.267", "4.967"]
    assert [t for t in times if f"<span>{t} s</span>" in html] == times
    assert NOTE in html
    assert size_of(view.get("/video/0/0/0?size=256")) == (224, 224)
    assert size_of(view.get("/video/0/0/7?size=64")) == (64, 64)


def test_strip_json_and_rotation(view):
    info = view.get("/api/video/0/0").json()
    assert [f["time"] for f in info["frames"]] == [0.0, 0.7, 1.433, 2.133, 2.833, 3.533, 4.267, 4.967]
    assert info["header"]["frames"] == 150 and info["note"] == NOTE
    rotated = view.get("/api/video/1/0").json()
    assert (rotated["header"]["width"], rotated["header"]["height"], rotated["header"]["rotation"]) == (
        32,
        48,
        90,
    )
    assert size_of(view.get("/video/1/0/0?size=512")) == (32, 48)  # turned as the container says
    one = view.get("/api/video/2/0").json()
    assert one["frames"] == [{"i": 0, "time": 0.0}]


def test_list_page_shows_posters_only(view):
    html = view.get("/").text
    assert '<img class="thumb poster" src="/video/0/0/0?size=256"' in html
    assert "open the record for its frames" in html and '<ol class="strip">' not in html


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/video/0/1/0", 404, "record 0 has no video 1"),
        ("/video/0/0/8", 404, "record 0 video 0 has no strip frame 8 (0 to 7)"),
        ("/video/9/0/0", 404, "no record 9: the dataset has 4 records"),
        ("/video/0/0/0?size=1000", 400, "size must be one of 64, 128, 256, 512, got '1000'"),
        ("/api/video/3/0", 404, "record 3 video 0 cannot be shown: not a readable video: Invalid data found "
                                "when processing input"),
    ],
)  # fmt: skip
def test_bad_video_requests(view, url, status, message):
    r = view.get(url)
    assert (r.status_code, r.json()) == (status, {"error": message})
    assert "cannot be shown" in view.get("/record/3").text
