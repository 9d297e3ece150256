"""Layer 4 (drivers): vlmtrain's implementation of vlmdata's token-counting plugin
(`vlmdata.token_counting.TokenCounter`).

Registered in pyproject.toml under the entry point group `vlmdata.token_counters`, so `vlmdata validate
--model M --max-length N` and `vlmdata view --model M` count with the training encoding without vlmdata
importing vlmtrain:

    counter = open_counter("models/tiny-qwen2vl", 2048)
    counter.count([(Location("t.jsonl", 0, 1), record), ...]) -> vlmdata TokenCounts
    counter.label_spans(record) -> [("<|im_start|>user\\n", "prompt"), ("<image x300>", "image"), ...]

The counting is `vlmtrain.tokens.report.preflight` (what `vlmtrain run` checks before training); the
label view is `vlmtrain.labels_view.view_records` (the collator's own labels).
"""

from __future__ import annotations

from vlmdata.errors import Location, Problem
from vlmdata.token_counting import RecordCount, TokenCounts

# labels_view's kinds -> the plugin contract's
_KINDS = {"masked": "prompt", "trained": "train", "image": "image"}


class VlmtrainTokenCounter:
    def __init__(self, model_dir: str, max_length: int):
        from vlmtrain.check import load_processor

        self.model_dir = model_dir
        self.max_length = max_length
        self.family, self.processor = load_processor(model_dir)

    def count(self, located) -> TokenCounts:
        from vlmtrain.tokens.report import preflight

        report = preflight(_runs(located), self.processor, self.family, self.max_length)
        cut = {(c.file, c.index) for c in report.image_truncated}
        over = [
            Problem(
                code="over-max-length",
                message=f"{c.length} tokens with images expanded, over max_length {self.max_length}",
                where=Location(file=c.file, record=c.index),
                expected=f"<= {self.max_length}",
                found=str(c.length),
                fix="raise max_length or shorten the record; vlmtrain run drops and lists such records",
            )
            for c in report.over_max_length
            if (c.file, c.index) not in cut
        ]
        records = [
            RecordCount(
                file=c.file,
                record=c.index,
                id=c.id,
                length=c.length,
                image_tokens=sum(c.image_tokens),
                over_length=c.length > self.max_length,
            )
            for c in report.counts
        ]
        return TokenCounts(self.max_length, records, report.blocking + over)

    def label_spans(self, record: dict) -> list[tuple[str, str]]:
        from vlmtrain.labels_view import view_records

        (view,) = view_records([record], self.processor, self.family, self.max_length)
        return [(seg["text"], _KINDS[seg["kind"]]) for seg in view["segments"]]


def open_counter(model_dir: str, max_length: int) -> VlmtrainTokenCounter:
    """The entry point's factory."""
    return VlmtrainTokenCounter(model_dir, max_length)


def _runs(located_records):
    """[(Location, record)] -> (file, first_index, [records]) for each run of consecutive indices."""
    file, first, run = None, 0, []
    for where, rec in located_records:
        if run and (where.file != file or where.record != first + len(run)):
            yield file, first, run
            run = []
        if not run:
            file, first = where.file, where.record
        run.append(rec)
    if run:
        yield file, first, run


def check_lengths(located_records, model_dir, max_length: int) -> list:
    """Token-count problems for records that passed the data checks ([(vlmdata Location, canonical
    record)], in file order): what `vlmdata validate --model` reports through this plugin."""
    return open_counter(model_dir, max_length).count(located_records).problems
