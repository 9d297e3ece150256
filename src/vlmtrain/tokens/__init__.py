"""Layer 2 (token counting): exact token counts before training, per-family image expansion from headers.

`family` below is a Family or anything `vlmtrain.families.resolve_family` takes (a name, a model folder).

Public API (what `vlmtrain check`, `vlmtrain run` and `vlmdata validate --model` call):

    count_records(records, processor, family) -> (list[SampleCount], list[Problem])
    image_token_count(family, processor, width, height) -> int
    preflight(records, processor, family, max_length, batch_size=8) -> Report   # report.ok: safe to train

`vlmtrain run` calls `preflight` before training and refuses to start unless `report.ok`, printing
`report.blocking` (each a vlmdata Problem naming file, record, expected and found). Counting only: the
`vlmtrain check` driver is `vlmtrain.check`, the padding/packing figures `vlmtrain.stats`, the label view
`vlmtrain.labels_view`.
"""

from vlmtrain.tokens.count import SampleCount, count_records, image_token_count
from vlmtrain.tokens.report import Report, preflight

__all__ = [
    "Report",
    "SampleCount",
    "count_records",
    "image_token_count",
    "preflight",
]
