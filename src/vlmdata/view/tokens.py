"""`--model`: token counts and label masks through vlmdata's token-counting plugin (never vlmtrain itself).

    counter = TokenCounter.load("models/tiny-qwen2vl", max_length=2048)
    counter.lengths([rec_a, rec_b]) -> ([342, -1], {1: [Problem(...)]})   # -1: the record cannot be counted
    counter.labels(rec_a) -> {"length": 342, "segments": [{"kind": "masked", "text": "<|im_start|>user\\n"},
                              {"kind": "image", "text": "<image x300>"}, {"kind": "trained", "text": "A cat."}]}

The counting and the spans are the plugin's (`vlmdata.token_counting.load_token_counter`: with vlmkit's
[train] extra, the same counting as `vlmtrain check` and the collator's own labels). Without
--max-length nothing is flagged as over-length.
"""

from __future__ import annotations

from vlmdata.errors import Location, Problem
from vlmdata.token_counting import load_token_counter

NO_LIMIT = 2**31 - 1  # what the plugin is given when --max-length is not: counts without a limit
_CSS = {"prompt": "masked", "train": "trained", "image": "image"}  # span kind -> the page's class


class TokenCounter:
    def __init__(self, plugin, max_length: int | None):
        self.plugin = plugin
        self.max_length = max_length

    @classmethod
    def load(cls, model_dir, max_length: int | None) -> TokenCounter:
        return cls(load_token_counter(model_dir, max_length or NO_LIMIT), max_length)

    def lengths(self, records: list[dict]) -> tuple[list[int], dict[int, list[Problem]]]:
        """Each record's input_ids length (-1 when it cannot be counted) and, by list position, the
        problems the plugin found (records training would refuse; over-length ones are the flag's)."""
        counts = self.plugin.count([(Location(None, i), rec) for i, rec in enumerate(records)])
        lengths = [-1] * len(records)
        for c in counts.records:
            lengths[c.record] = c.length
        problems: dict[int, list[Problem]] = {}
        for p in counts.problems:
            if p.code != "over-max-length" and p.where.record is not None:
                problems.setdefault(p.where.record, []).append(p)
        return lengths, problems

    def labels(self, record: dict) -> dict:
        """The record as the model trains on it: text segments marked trained / masked / image."""
        (length,), _ = self.lengths([record])
        segments = [{"kind": _CSS[kind], "text": text} for text, kind in self.plugin.label_spans(record)]
        return {"length": length, "segments": segments}
