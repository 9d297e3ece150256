"""Exact token counts before training: per-family image expansion from headers, reports, label views.

`family` below is a Family or anything `vlmtrain.families.resolve_family` takes (a name, a model folder).

Public API (what `vlmtrain check`, `vlmtrain run` and `vlmdata validate --model` call):

    count_records(records, processor, family) -> (list[SampleCount], list[Problem])
    image_token_count(family, processor, width, height) -> int
    preflight(records, processor, family, max_length, batch_size=8) -> Report   # report.ok: safe to train
    vlmtrain.tokens.check.check_data(data_dir, model_dir, max_length, split="train") -> Report

`vlmtrain run` calls `preflight` before training and refuses to start unless `report.ok`, printing
`report.blocking` (each a vlmdata Problem naming file, record, expected and found).
"""

from vlmtrain.tokens.check import check_lengths
from vlmtrain.tokens.count import SampleCount, count_records, image_token_count
from vlmtrain.tokens.report import Report, preflight

__all__ = [
    "Report",
    "SampleCount",
    "check_lengths",
    "count_records",
    "image_token_count",
    "preflight",
]
