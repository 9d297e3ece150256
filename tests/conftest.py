"""Fixtures for the data tests; helpers live in data_helpers.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from data_helpers import INTEROP

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture
def lf_demo(tmp_path) -> Path:
    """LLaMA-Factory's demo folder (dataset_info.json, mllm_demo.json, images), copied for the test."""
    import shutil

    dst = tmp_path / "lf_demo"
    shutil.copytree(INTEROP / "llamafactory", dst)
    return dst


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A datasets cache folder shared by the download tests of one module."""
    return str(tmp_path_factory.mktemp("hf-cache"))


@pytest.fixture(scope="session")
def vids(tmp_path_factory) -> dict[str, Path]:
    """The test videos of video_helpers.make_videos (PyAV-made, about a second), made once per session."""
    pytest.importorskip("av")
    from video_helpers import make_videos

    return make_videos(tmp_path_factory.mktemp("videos"))
