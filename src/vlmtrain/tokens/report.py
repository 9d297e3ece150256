"""Layer 2 (token counting): the pre-flight report: exact lengths, what max_length cuts, images per sample.

    preflight(records, processor, family, max_length=2048, batch_size=8) -> Report
      report.ok            -> False when any record would break training (listed in report.blocking)
      report.to_dict()     -> {"samples": 2000, "lengths": {"min": 41, "p50": 388, ..., "histogram": [...]},
                               "over_max_length": [...], "image_truncated": [...], "images_per_sample": {...},
                               "problems": [...]}

`records` is any iterable of canonical records or of (file, first_index, [records]) chunks as
`vlmtrain.data.iter_split` (`vlmtrain check`) and `vlmtrain.data.located` (`vlmtrain run`, from the loaded
dataset's rows) yield them; it is counted chunk by chunk, so memory stays flat. The padding and
packing figures `vlmtrain check` adds to these counts: `vlmtrain.stats.report_dict`.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from vlmdata.errors import Location, Problem
from vlmtrain.families import resolve_family
from vlmtrain.tokens.count import SampleCount, count_records, fallback_reason


@dataclass
class Report:
    family: str
    max_length: int
    batch_size: int
    counts: list[SampleCount] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    method: str = "rule"  # "rule": image headers + text tokenization; "processor": the real processor
    fallback_reason: str | None = None
    seconds: float = 0.0

    @property
    def lengths(self) -> list[int]:
        return [c.length for c in self.counts]

    @property
    def over_max_length(self) -> list[SampleCount]:
        return [c for c in self.counts if c.length > self.max_length]

    @property
    def image_truncated(self) -> list[SampleCount]:
        """Records whose truncation at max_length would cut image tokens (the model then fails on them)."""
        return [c for c in self.counts if c.image_end > self.max_length]

    @property
    def blocking(self) -> list[Problem]:
        cut = [
            Problem(
                code="image-truncated",
                message=f"{c.length} tokens, image tokens run to position {c.image_end}: truncating at "
                f"max_length {self.max_length} cuts image tokens",
                where=Location(file=c.file, record=c.index),
                expected=f"<= {self.max_length}",
                found=str(c.image_end),
                fix="raise max_length, downscale the images (fewer tokens), or drop the record",
            )
            for c in self.image_truncated
        ]
        return self.problems + cut

    @property
    def ok(self) -> bool:
        return not self.blocking

    def images_per_sample(self) -> dict[int, int]:
        return dict(sorted(Counter(len(c.image_sizes) for c in self.counts).items()))

    def to_dict(self, limit: int | None = None) -> dict:
        def listed(items):
            return items if limit is None else items[:limit]

        over, cut = self.over_max_length, self.image_truncated
        return {
            "family": self.family,
            "method": self.method,
            "fallback_reason": self.fallback_reason,
            "max_length": self.max_length,
            "batch_size": self.batch_size,
            "samples": len(self.counts),
            "seconds": round(self.seconds, 3),
            "ok": self.ok,
            "lengths": length_stats(self.lengths),
            "image_tokens": length_stats([t for c in self.counts for t in c.image_tokens]),
            "video_tokens": length_stats([t for c in self.counts for t in c.video_tokens]),
            "video_frames": length_stats([t for c in self.counts for t in c.video_frames]),
            "text_tokens": length_stats([c.text_tokens for c in self.counts]),
            "images_per_sample": {str(k): v for k, v in self.images_per_sample().items()},
            "over_max_length": {"count": len(over), "records": [_brief(c) for c in listed(over)]},
            "image_truncated": {"count": len(cut), "records": [_brief(c) for c in listed(cut)]},
            "problems": [p.to_dict() for p in listed(self.blocking)],
            "problem_count": len(self.blocking),
        }


def _brief(c: SampleCount) -> dict:
    return {
        "file": c.file,
        "record": c.index,
        "position": c.position,
        "id": c.id,
        "length": c.length,
        "image_end": c.image_end,
    }


def preflight(
    records,
    processor,
    family,
    max_length: int,
    batch_size: int = 8,
    chunk: int = 1024,
    verify: int = 0,
    max_pixels: int | None = None,
    train_on_prompt: bool = False,
) -> Report:
    """Count every record and build the report. `vlmtrain run` refuses to start unless `report.ok`.

    max_pixels: the run's image cap (`vlmtrain.data.cap_image`), applied to header sizes.
    verify=k also runs the real processor on the first k records counted by rule and adds a
    "count-mismatch" problem for any disagreement (a guard against processor settings a rule misses).

    Records counted by rule also go through the collator's own encoding once per distinct shape (the
    roles and part types of their turns, e.g. user[image, text] assistant[text] user[text, image] ...;
    the first `MAX_SHAPES`), so a shape the collator refuses is refused here, not mid-training. The
    label step itself already runs on every record (`Family.labels_for` in count_records).
    """
    start = time.perf_counter()
    family = resolve_family(family)
    reason = fallback_reason(processor, family)
    report = Report(
        family=family.name,
        max_length=max_length,
        batch_size=batch_size,
        method="processor" if reason else "rule",
        fallback_reason=reason,
    )
    seen = 0  # records before this chunk, across shards: SampleCount.position
    shapes: set[tuple] = set()
    for file, first, recs in _chunks(records, chunk):
        counts, problems = count_records(
            recs,
            processor,
            family,
            start=first,
            file=file,
            max_pixels=max_pixels,
            train_on_prompt=train_on_prompt,
        )
        for c in counts:
            c.file = file
            c.position = seen + c.index - first
        seen += len(recs)
        if report.method == "rule":
            checked = {c.index for c in counts[:verify]}
            for c in counts:
                shape = _shape(recs[c.index - first])
                if shape not in shapes and len(shapes) < MAX_SHAPES:
                    shapes.add(shape)
                    checked.add(c.index)
            verify = max(0, verify - len(counts))
            refused = _verify(
                report,
                recs,
                first,
                [c for c in counts if c.index in checked],
                processor,
                family,
                max_pixels,
                train_on_prompt,
            )
            counts = [c for c in counts if c.index not in refused]
        report.counts.extend(counts)
        report.problems.extend(problems)
    report.seconds = time.perf_counter() - start
    return report


MAX_SHAPES = 64


def _shape(record: dict) -> tuple:
    """What the collator's processor call and label step depend on besides text and image sizes."""
    return tuple((m["role"], tuple(p["type"] for p in m["content"])) for m in record["messages"])


def _verify(report: Report, recs, first: int, counts, processor, family, max_pixels, train_on_prompt) -> set:
    """Run the collator's encoding on `counts`' records: a refusal becomes a "record-rejected" problem
    (the index is returned, its count dropped), a different length a "count-mismatch" problem."""
    from vlmtrain.errors import VlmTrainError
    from vlmtrain.tokens.count import _rejected
    from vlmtrain.tokens.render import reference_ids

    refused = set()
    for c in counts:
        try:
            real = len(
                reference_ids(processor, recs[c.index - first], family, max_pixels, None, train_on_prompt)
            )
        except VlmTrainError as exc:
            report.problems.append(_rejected(c.index, c.file, exc))
            refused.add(c.index)
            continue
        if real != c.length:
            report.problems.append(
                Problem(
                    code="count-mismatch",
                    message=f"the {report.family} rule counts {c.length} tokens, the processor {real}",
                    where=Location(file=c.file, record=c.index),
                    expected=str(real),
                    found=str(c.length),
                    fix="report this processor config; meanwhile the real processor's count is the truth",
                )
            )
    return refused


def _chunks(records, size: int):
    """Normalise to (file, first_index, [records]) chunks."""
    buf, first = [], 0
    for item in records:
        if isinstance(item, tuple):
            yield item
            continue
        buf.append(item)
        if len(buf) == size:
            yield None, first, buf
            first += len(buf)
            buf = []
    if buf:
        yield None, first, buf


def _percentile(sorted_values: list[int], q: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def length_stats(lengths: list[int]) -> dict:
    if not lengths:
        return {"count": 0, "histogram": []}
    s = sorted(lengths)
    return {
        "count": len(s),
        "min": s[0],
        "p50": _percentile(s, 0.5),
        "p90": _percentile(s, 0.9),
        "p99": _percentile(s, 0.99),
        "max": s[-1],
        "mean": round(sum(s) / len(s), 1),
        "histogram": histogram(s),
    }


def histogram(lengths: list[int]) -> list[dict]:
    """Power-of-two bins [lo, hi): [{"lo": 256, "hi": 512, "count": 120}, ...]; empty bins kept in range."""
    lo = 1
    while lo * 2 <= min(lengths):
        lo *= 2
    bins = []
    while lo <= max(lengths):
        hi = lo * 2
        bins.append({"lo": lo, "hi": hi, "count": sum(1 for x in lengths if lo <= x < hi)})
        lo = hi
    return bins
