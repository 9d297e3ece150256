"""`vlmdata validate --engine ray`: every file's parts checked on the workers, the report assembled on
the driver by validate's own per-file step (`validate._validate_file`), in input order.

A JSONL file without a dataset_info.json entry is cut into byte ranges (its records and lines before
each range counted on the workers first, so locations are the whole file's); any other file is one
part, checked on a worker by exactly the code one machine runs.
"""

from __future__ import annotations

import os

from vlmdata.ray.engine import CheckedPart, Failure, checked_fields, connect, in_folder, jsonl_parts, ordered


def check_part(cwd: str, open_args: tuple, file_index: int, part) -> CheckedPart | Failure:
    from vlmdata.errors import VlmDataError
    from vlmdata.images import own_pixel_limit
    from vlmdata.validate import _validate_json, _validate_parquet, layout
    from vlmdata.validate.report import FileSummary
    from vlmdata.validate.run import FILE, Checks

    try:
        with in_folder(cwd), own_pixel_limit():
            checks = Checks.open(*open_args)
            report = checks.report
            skipped0, problems0 = len(report.skipped), len(report.problems)
            f = checks.dataset.files[file_index]
            summary = FileSummary(str(f.path), None)
            if part is None:  # the whole file, as validate reads it (problems the wrapper adds excluded)
                try:
                    if f.kind == "parquet" and layout(f.path) is not None:
                        _validate_parquet(f, checks, summary, None)
                    else:
                        _validate_json(f, checks, summary, None)
                except (VlmDataError, OSError) as exc:
                    return Failure(exc)  # the driver's _validate_file turns it into a file problem
            else:
                for index, _, _, found in checks.json_records(f, summary, part):
                    if index != FILE:
                        report.records += 1
                        summary.records += 1
                    if found:
                        report.bad_records += index != FILE
                        report.problems.extend(found)
            return CheckedPart(**checked_fields(checks, summary, f, problems0, skipped0))
    except (VlmDataError, OSError) as exc:
        return Failure(exc)


def validate(path, *, model=None, max_length=None, address: str | None = None, **kwargs):
    """vlmdata.validate.validate's arguments, the records checked on the Ray cluster at `address`."""
    from vlmdata.errors import UsageError
    from vlmdata.ray import require
    from vlmdata.validate import validate as validate_local

    require()
    if model is not None or max_length is not None:
        raise UsageError("--model (token counting) runs on one machine only: leave out --engine ray")
    return validate_local(path, check_files=lambda checks, open_args: validate_ray(checks, open_args, address),
                          **kwargs)  # fmt: skip


def validate_ray(checks, open_args: tuple, address: str | None) -> None:
    """Fill checks.report as validate's local loop does, the records checked on the workers."""
    from vlmdata.inputs import iter_raw
    from vlmdata.validate import _validate_file

    ray = connect(address)
    files = checks.dataset.files
    parts = []
    for k, f in enumerate(files):
        fmt = None
        if f.kind == "jsonl" and f.lf is None:
            fmt, _ = checks.detect(iter_raw(f, on_error=lambda problem: None), f)
        parts += [(k, p) for p in (jsonl_parts(ray, f.path, fmt) if fmt else [None])]
    cwd = os.getcwd()
    results = ordered(ray, check_part, [(cwd, open_args, k, p) for k, p in parts], raise_failures=False)
    counts = [sum(1 for k2, _ in parts if k2 == k) for k in range(len(files))]

    def merged(f, checks, summary, n):
        for _ in range(n):
            r = next(results)
            if isinstance(r, Failure):
                raise r.exc  # _validate_file makes a whole-file problem of it, as on one machine
            r.add_to(checks, summary, f)

    for f, n in zip(files, counts, strict=True):
        _validate_file(f, checks, None, body=lambda f, checks, summary, n=n: merged(f, checks, summary, n))
