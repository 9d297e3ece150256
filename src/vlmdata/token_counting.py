"""The token-counting plugin contract: how `vlmdata` gets exact token counts without importing a trainer.

`vlmdata` never imports torch, transformers or vlmtrain. Counting tokens needs a model's processor, so
the counter is a plugin found through the Python entry point group `vlmdata.token_counters`. vlmkit's
own `[train]` extra provides one (`vlmtrain.tokens.counter:open_counter`, declared in pyproject.toml);
another trainer can register its own:

    [project.entry-points."vlmdata.token_counters"]
    mytrainer = "mytrainer.counting:open_counter"     # open_counter(model_dir, max_length) -> TokenCounter

Use:

    counter = load_token_counter("models/tiny-qwen2vl", max_length=2048)   # UsageError when none installed
    counts = counter.count([(Location("t.jsonl", 0, 1), canonical_record), ...])
    counts.records[0] -> RecordCount(file="t.jsonl", record=0, id="a", length=342, image_tokens=300,
                                     over_length=False)
    counts.problems   -> [Problem(code="over-max-length", ...), ...]   # records training would refuse/drop
    counts.summary()  -> {"records": 2, "min": 41, "median": 342, "max": 3100, "max_length": 2048,
                          "over_length": 1, "worst": [{"file": ..., "record": 1, "id": ..., "length": 3100,
                                                       ...}, ...]}
    counter.label_spans(canonical_record)
      -> [("<|im_start|>user\\n", "prompt"), ("<image x300>", "image"), ("A cat.<|im_end|>", "train")]

Records are canonical (`vlmdata.record`): {"id", "messages": [{"role", "content": [parts]}], "images":
[{"bytes", "path"}], "source"}. Locations are where each record sits in the user's files, so problems
point there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Protocol, runtime_checkable

from vlmdata.errors import Location, Problem, UsageError

ENTRY_POINT_GROUP = "vlmdata.token_counters"
SPAN_KINDS = ("prompt", "train", "image")  # label_spans' kinds: masked text, trained text, an image run
WORST = 5  # records listed in the summary, longest first

INSTALL_HINT = "install the [train] extra, e.g. pip install 'vlmkit[train]'"


@dataclass(slots=True)
class RecordCount:
    """One record's count: `length` is the input_ids the training collator produces (images expanded)."""

    file: str | None
    record: int | None
    id: str
    length: int
    image_tokens: int  # all of the record's images together
    over_length: bool  # length > max_length

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TokenCounts:
    """What a counter returns: one RecordCount per counted record, Problems for the rest and the blockers."""

    max_length: int
    records: list[RecordCount] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def summary(self, worst: int = WORST) -> dict:
        lengths = sorted(r.length for r in self.records)
        longest = sorted(self.records, key=lambda r: -r.length)[:worst]
        out = {"records": len(lengths), "max_length": self.max_length}
        if lengths:
            out.update(min=lengths[0], median=lengths[len(lengths) // 2], max=lengths[-1])
        out["over_length"] = sum(r.over_length for r in self.records)
        out["worst"] = [r.to_dict() for r in longest]
        return out

    def to_dict(self) -> dict:
        return {"summary": self.summary(), "records": [r.to_dict() for r in self.records]}


@runtime_checkable
class TokenCounter(Protocol):
    """What a `vlmdata.token_counters` entry point's factory returns (factory(model_dir, max_length))."""

    max_length: int

    def count(self, located: Iterable[tuple[Location, dict]]) -> TokenCounts:
        """Count canonical records, given with their Locations in file order."""
        ...

    def label_spans(self, record: dict) -> list[tuple[str, str]]:
        """One record as the model trains on it: (text, kind) segments in order, kind in SPAN_KINDS."""
        ...


def entry_points(group: str):
    """importlib.metadata's, imported on use (it costs ~0.1 s of every vlmdata start otherwise)."""
    from importlib.metadata import entry_points as installed

    return installed(group=group)


def load_token_counter(model_dir, max_length: int) -> TokenCounter:
    """The installed counter for a model folder. Raises UsageError (exit 2) when none is installed or it
    cannot be imported; errors the counter itself raises (a folder without config.json, ...) pass through."""
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    if not found:
        raise UsageError(f"--model needs a token counter and none is installed: {INSTALL_HINT}")
    ep = found[0]  # vlmkit registers one; a second plugin is picked by name order, deterministically
    try:
        factory = ep.load()
    except ImportError as exc:  # torch/transformers missing, or a stale install without the module
        raise UsageError(
            f"--model needs the token counter {ep.value}, which could not be imported ({exc}): {INSTALL_HINT}"
        ) from None
    return factory(str(model_dir), int(max_length))


__all__ = [
    "ENTRY_POINT_GROUP",
    "SPAN_KINDS",
    "RecordCount",
    "TokenCounter",
    "TokenCounts",
    "load_token_counter",
]
