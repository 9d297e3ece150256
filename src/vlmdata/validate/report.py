"""The result of `validate`: every problem, grouped and counted for people (a rich table) and machines.

report.ok -> False
report.to_dict() -> {"ok": false, "records": 3, "problems": [{"code": "image-count", "file": ...}],
                     "counts": {"image-count": 1}, "files": [...], "skipped": [...]}
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from vlmdata.errors import Problem
from vlmdata.token_counting import TokenCounts


@dataclass
class FileSummary:
    file: str
    format: str | None
    records: int = 0
    problems: int = 0

    def to_dict(self) -> dict:
        return {"file": self.file, "format": self.format, "records": self.records, "problems": self.problems}


@dataclass
class ValidationReport:
    path: str
    files: list[FileSummary] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    records: int = 0
    bad_records: int = 0
    images: int = 0
    images_outside: int = 0  # absolute paths outside the dataset folder (read where they are)
    videos: int = 0  # video references checked (vlmdata.videos)
    seconds: float = 0.0
    tokens: TokenCounts | None = None  # with --model: per-record token counts

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        return dict(Counter(p.code for p in self.problems).most_common())

    def groups(self) -> list[tuple[str, str, int, Problem]]:
        """(file, code, count, first problem) per file and code, in order of first appearance."""
        firsts: dict[tuple, Problem] = {}
        counts: Counter = Counter()
        for p in self.problems:
            key = (p.where.file or "", p.code)
            counts[key] += 1
            firsts.setdefault(key, p)
        return [(k[0], k[1], counts[k], p) for k, p in firsts.items()]

    def summary(self) -> str:
        outside = f" ({self.images_outside:,} outside the dataset folder)" if self.images_outside else ""
        if self.ok:
            videos = f", {self.videos:,} video(s)" if self.videos else ""
            return (
                f"valid: {self.records:,} record(s) in {len(self.files)} file(s), "
                f"{self.images:,} image(s){videos} checked{outside}"
            )
        return (
            f"invalid: {len(self.problems):,} problem(s) in {self.bad_records:,} of {self.records:,} record(s) "
            f"in {len(self.files)} file(s)"
        )

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "path": self.path,
            "records": self.records,
            "bad_records": self.bad_records,
            "images": self.images,
            "images_outside": self.images_outside,
            "videos": self.videos,
            "seconds": round(self.seconds, 3),
            "counts": self.counts(),
            "files": [f.to_dict() for f in self.files],
            "skipped": self.skipped,
            "problems": [p.to_dict() for p in self.problems],
            **({"tokens": self.tokens.to_dict()} if self.tokens is not None else {}),
        }


def render_tokens(counts: TokenCounts):
    """The token summary: min/median/max, how many records are over max_length, the longest records."""
    from rich.text import Text

    s = counts.summary()
    if not s["records"]:
        return [Text("tokens: no record counted", style="yellow")]
    head = (
        f"tokens ({s['records']:,} record(s) counted): min {s['min']:,}, median {s['median']:,}, "
        f"max {s['max']:,}; {s['over_length']:,} over max_length {s['max_length']:,}"
    )
    lines = [Text(head, style="bold")]
    lines.append(Text("longest:"))
    for r in s["worst"]:
        flag = "  over" if r["over_length"] else ""
        lines.append(
            Text(
                f"  {r['file']} record {r['record']} (id {r['id']}): {r['length']:,} tokens, "
                f"{r['image_tokens']:,} image tokens{flag}"
            )
        )
    return lines


def _where(p: Problem) -> str:
    parts = []
    if p.where.line is not None:
        parts.append(f"line {p.where.line}")
    if p.where.record is not None:
        parts.append(f"record {p.where.record}")
    if p.where.path and p.where.path != "$":
        parts.append(p.where.path)
    return " ".join(parts) or "(file)"


def render(report: ValidationReport, show: int = 20):
    """Rich renderables: a table grouped by file and problem code, then the first `show` problems."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    items = []
    if not report.ok:
        table = Table(title="Problems by file and kind", show_lines=False)
        for name in ("file", "problem", "count", "first at", "expected", "found"):
            table.add_column(name, overflow="fold", justify="right" if name == "count" else "left")
        for file, code, count, first in report.groups():
            cells = (file, code, str(count), _where(first), first.expected or "", first.found or "")
            table.add_row(*(Text(c) for c in cells))  # Text: user data is never read as rich markup
        items.append(table)
        shown = report.problems[:show]
        items.append(Text(f"First {len(shown)} of {len(report.problems)} problem(s):", style="bold"))
        items.extend(Text(p.describe()) for p in shown)
    if report.tokens is not None:
        items.extend(render_tokens(report.tokens))
    for s in report.skipped:
        items.append(Text(f"skipped: {s}", style="yellow"))
    items.append(Text(report.summary(), style="bold green" if report.ok else "bold red"))
    return Group(*items)
