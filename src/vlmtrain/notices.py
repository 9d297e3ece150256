"""What vlmtrain tells the person running it, from library code: a logger the CLI shows on stderr.

    from vlmtrain.notices import notice
    notice("vlmtrain: qwen2_vl, method lora, fp32: 360,448 trainable parameters")

Library code never prints; `vlmtrain` (the CLI) calls `show_on_stderr()` once, and every notice is then
written to the current sys.stderr as it is, one line each. Used as a library, the notices are records of
the "vlmtrain" logger, for the caller's own logging setup.
"""

from __future__ import annotations

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
