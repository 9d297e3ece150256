"""What the templates and the JSON routes show: the query string parsed, a record as a card, the summary.

Query.parse({"q": "cat", "images": "1", "page": "2"}, index)
  -> Query(q="cat", source=None, images=1, turns=None, problems=None, over=None, page=2, per=20)
card(entry, index) -> {"pos": 3, "id": "r3", "turns": [{"role": "user", "parts": [{"kind": "image",
                       "k": 0}, {"kind": "text", "text": "What is it?"}]}, ...], "problems": [...], ...}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from urllib.parse import urlencode

import numpy as np
import orjson
from starlette.exceptions import HTTPException

from vlmdata.view.plots import histogram

PER_PAGE = 20
MAX_PER_PAGE = 200
_YES_NO = {"yes": True, "no": False, "": None}


def _int(params, name: str, default, lo: int, hi: int | None = None):
    value = params.get(name, "")
    if value == "":
        return default
    try:
        n = int(value)
    except ValueError:
        raise HTTPException(400, f"{name} must be a whole number, got {value!r}") from None
    if n < lo or (hi is not None and n > hi):
        limit = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise HTTPException(400, f"{name} must be {limit}, got {n}")
    return n


def _yes_no(params, name: str):
    value = params.get(name, "")
    if value not in _YES_NO:
        raise HTTPException(400, f"{name} must be yes or no, got {value!r}")
    return _YES_NO[value]


@dataclass
class Query:
    q: str = ""
    source: str | None = None
    images: int | None = None
    turns: int | None = None
    problems: bool | None = None
    over: bool | None = None
    page: int = 1
    per: int = PER_PAGE

    @classmethod
    def parse(cls, params, index) -> Query:
        unknown = set(params) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise HTTPException(400, f"unknown parameter(s): {', '.join(sorted(unknown))}")
        source = params.get("source") or None  # "" is the form's "any"
        if source is not None and index.indexed >= len(index.ds) and source not in index.sources:
            raise HTTPException(400, f"no record has source {source!r}")
        over = _yes_no(params, "over")
        if over is not None and (index.counter is None or not index.counter.max_length):
            raise HTTPException(400, "over needs the server started with --model and --max-length")
        return cls(
            q=params.get("q", "").strip()[:200],
            source=source,
            images=_int(params, "images", None, 0, 10_000),
            turns=_int(params, "turns", None, 0, 10_000),
            problems=_yes_no(params, "problems"),
            over=over,
            page=_int(params, "page", 1, 1),
            per=_int(params, "per", PER_PAGE, 1, MAX_PER_PAGE),
        )

    def filters(self) -> dict:
        return {
            "query": self.q,
            "source": self.source,
            "images": self.images,
            "turns": self.turns,
            "problems": self.problems,
            "over": self.over,
        }

    @property
    def filtered(self) -> bool:
        return any(v not in (None, "") for v in self.filters().values())

    def url(self, **change) -> str:
        """This query's URL with some fields changed (None/"" fields are left out)."""
        values = {**asdict(self), **change}
        out = {}
        for k, v in values.items():
            if v is None or v == "" or (k == "page" and v == 1) or (k == "per" and v == PER_PAGE):
                continue
            out[k] = ("yes" if v else "no") if isinstance(v, bool) else v
        return "/?" + urlencode(out) if out else "/"


def _raw_text(raw) -> str:
    """A raw record as indented JSON, image bytes shortened (they can be megabytes)."""

    def default(value):
        if isinstance(value, bytes | bytearray):
            return f"<{len(value):,} bytes>"
        raise TypeError

    return orjson.dumps(raw, default=default, option=orjson.OPT_INDENT_2).decode()


def _raw_id(raw) -> str | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    return None if value is None else str(value)


def token_lengths(entries, index) -> dict[int, int]:
    """Token counts for the shown records the background count has not reached yet (one plugin call)."""
    if index.counter is None:
        return {}
    todo = [e.pos for e in entries if e.record is not None and index.tokens[e.pos] < 0]
    if not todo:
        return {}
    todo = index.ds.entries(todo, images=True)
    lengths, _ = index.counter.lengths([e.record for e in todo])
    return {e.pos: n for e, n in zip(todo, lengths, strict=True)}


def card(entry, index, lengths: dict[int, int] | None = None, problems: dict | None = None) -> dict:
    """A record as the page shows it; JSON-ready. lengths: token counts from token_lengths();
    problems: index.problems_for() of the shown entries."""
    rec = entry.record
    turns = []
    if rec is not None:
        k = {"image": 0, "video": 0}
        for m in rec["messages"]:
            parts = []
            for p in m["content"]:
                if p["type"] in k:  # the k-th image (video) part shows the record's k-th image (video)
                    parts.append({"kind": p["type"], "k": k[p["type"]]})
                    k[p["type"]] += 1
                else:
                    parts.append({"kind": "text", "text": p.get("text") or ""})
            turns.append({"role": m["role"], "parts": parts})
    if problems is None or entry.pos not in problems:
        problems = index.problems_for([entry])
    found, final = problems[entry.pos]
    if final and entry.error is not None and not found:
        found = [entry.error]  # unreadable but passes validate's checks (the readers agree: not today)
    found = None if found is None else [p.to_dict() for p in found]
    tokens = None
    if index.tokens is not None:
        tokens = int(index.tokens[entry.pos])
        if tokens < 0:
            if lengths is None or entry.pos not in lengths:
                lengths = token_lengths([entry], index)
            tokens = lengths.get(entry.pos, -1)
        tokens = None if tokens < 0 else tokens
    max_length = index.counter.max_length if index.counter is not None else None
    return {
        "pos": entry.pos,
        "id": rec["id"] if rec else _raw_id(entry.raw),
        "source": (rec or {}).get("source") or "",
        "split": entry.split,
        "file": entry.file,
        "index": entry.index,
        "line": entry.line,
        "readable": rec is not None,
        "turns": turns,
        "n_images": len(rec["images"]) if rec else 0,
        "problems": found,
        "validated": final,  # False: this record's own checks; validate of the whole dataset still runs
        "error": entry.error.to_dict() if entry.error else None,
        "raw": _raw_text(entry.raw) if rec is None and entry.raw is not None else None,
        "tokens": tokens,
        "over": bool(tokens is not None and max_length and tokens > max_length),
    }


def summary(index, svg: bool = True) -> dict:
    """Counts and histograms for the summary panel; plots without their SVG when svg=False (JSON)."""
    status = index.status()
    n = len(index.ds)
    plots = [
        histogram(index.n_images, "images per record"),
        histogram(index.turns, "turns per record"),
    ]
    if index.tokens is not None:
        counted = index.tokens[index.tokens >= 0]
        note = f"max length {index.counter.max_length}" if index.counter.max_length else ""
        plots.append(histogram(counted, "tokens per record", note))
    if index.image_sizes:
        sizes = np.asarray(index.image_sizes)
        note = f"sampled: {len(sizes):,} images spread over the dataset" if index.image_sizes_sampled else ""
        plots.append(histogram(sizes[:, 0], "image width (px)", note))
        plots.append(histogram(sizes[:, 1], "image height (px)", note))
    if not svg:
        plots = [{k: v for k, v in p.items() if k != "svg"} for p in plots]
    counts = np.bincount(index.source[index.source >= 0], minlength=len(index.sources)) if n else []
    report = index.report
    return {
        "records": n,
        "files": [
            {"file": index.ds.rel(r), "split": r.f.split, "records": r.n, "kind": r.f.kind}
            for r in index.ds.readers
        ],
        "sources": [
            {"source": s or "(none)", "records": int(c)}
            for s, c in zip(index.sources, counts, strict=False)
            if c
        ],
        "bad_records": int(index.problem.sum()) if index.validated else None,
        "problem_counts": report.counts() if report is not None else None,
        "file_problems": [p.to_dict() for p in index.file_problems],
        "over_length": int((index.tokens > index.counter.max_length).sum())
        if index.tokens is not None and index.counter.max_length
        else None,
        "status": status,
        "plots": plots,
    }
