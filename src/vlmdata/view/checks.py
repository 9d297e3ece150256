"""validate's per-record checks for the records on a page, while the background validate is still running.

    page = PageChecks(ds)
    page.problems(entry) -> [Problem, ...]      # entry read with images=True (image headers are checked)

The checks are `vlmdata.validate.run.Checks` (schema, the format's semantic checks, image headers,
LLaMA-Factory's rules for dataset_info.json entries): the functions `validate` runs on each record, so
a page of a dataset that takes minutes to validate shows its records' problems at once. Whole-file
problems (dataset_info.json columns, mixed column types) need the whole file: they come with the
background validate, whose report replaces these answers once it is done.
"""

from __future__ import annotations

import os
import threading

from vlmdata.errors import Problem
from vlmdata.validate import DEFAULT_MAX_PIXELS, image_mode
from vlmdata.validate.images import own_pixel_limit
from vlmdata.validate.run import Checks


class PageChecks:
    def __init__(self, ds):
        self.ds = ds
        self.checks = Checks.open(ds.path, "auto", image_mode(False), DEFAULT_MAX_PIXELS)
        files = {os.path.realpath(f.path): f for f in self.checks.dataset.files}
        self.files = [files.get(os.path.realpath(r.f.path)) for r in ds.readers]
        self._record_checks: dict[int, object] = {}
        self._lock = threading.Lock()  # the checkers cache listings and opened images

    def problems(self, entry) -> list[Problem] | None:
        """The record's problems as validate finds them; None when this file cannot be checked alone."""
        r, _ = self.ds.locate(entry.pos)
        f, reader = self.files[r], self.ds.readers[r]
        if f is None:
            return None
        if entry.raw is None and entry.record is None:  # a line that is not JSON: the reader's problem
            return [entry.error] if entry.error else []
        with self._lock, own_pixel_limit():
            if reader.canonical:
                return self.checks.row_problems(f, entry.record, entry.index)
            fmt = f.fmt or reader.fmt
            if fmt is None:
                return [entry.error] if entry.error else None
            if r not in self._record_checks:
                self._record_checks[r] = self.checks.record_check(f, fmt)
            found = self._record_checks[r](entry.index, entry.line, entry.raw)
        if not found and entry.error is not None:  # passes the checks but the reader refuses it
            found = [entry.error]
        return found
