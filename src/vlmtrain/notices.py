"""Layer 0 (notices): what vlmtrain tells the person running it, from library code: a logger the CLI shows
on stderr; and `quiet_progress_bars()`, which silences other libraries' bars for one call only.

    from vlmtrain.notices import notice
    notice("vlmtrain: qwen2_vl, method lora, fp32: 360,448 trainable parameters")

Library code never prints; `vlmtrain` (the CLI) calls `show_on_stderr()` once, and every notice is then
written to the current sys.stderr as it is, one line each. Used as a library, the notices are records of
the "vlmtrain" logger, for the caller's own logging setup.
"""

from __future__ import annotations

import contextlib
import logging
import sys

LOG = logging.getLogger("vlmtrain")


def notice(message: str) -> None:
    LOG.info(message)


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a notice is made (test runners swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # logging.StreamHandler sets it; the property always reads sys.stderr
        pass


def show_on_stderr() -> None:
    if not any(isinstance(h, _Stderr) for h in LOG.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False


@contextlib.contextmanager
def quiet_progress_bars(datasets: bool = True):
    """Inside: no progress bars from `transformers` ("Loading weights") nor, unless datasets=False, from
    `datasets` ("Generating train split"): they would interleave with vlmtrain's own display. On leaving,
    each is as it was before, so a library caller's settings survive the call.

        with quiet_progress_bars():
            model = load_model(...)"""
    from transformers.utils import logging as hf_logging

    if datasets:
        import datasets as hf_datasets

        datasets_on = not hf_datasets.are_progress_bars_disabled()
        hf_datasets.disable_progress_bars()
    transformers_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if datasets and datasets_on:
            hf_datasets.enable_progress_bars()
        if transformers_on:
            hf_logging.enable_progress_bar()
