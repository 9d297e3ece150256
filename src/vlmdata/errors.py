"""Domain exceptions. The library raises these; only the CLI turns them into messages and exit codes.

Every error that concerns a record carries where it is (file, record index, line for JSONL, JSON path),
what was expected, what was found, and how to fix it, so the CLI can print one precise line:

    data/train.jsonl:12 record 11 $.messages[1].role: expected one of user|assistant|system, found 'bot'
      fix: rename the role or map it with --role-map
"""

from __future__ import annotations

from dataclasses import dataclass, field


class VlmDataError(Exception):
    """Base class: a problem the user can fix. The CLI prints it without a traceback and exits 1."""

    exit_code = 1


class UsageError(VlmDataError):
    """Bad options or paths (exit 2, like click's own usage errors)."""

    exit_code = 2


class OutputBusyError(VlmDataError):
    """Another command is writing the same output folder right now."""


def json_type(value) -> str:
    """The JSON name of a value's type, as a user sees it in their file."""
    if value is None:
        return "null"
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


@dataclass
class Location:
    """Where a problem sits: file, 0-based record index, 1-based line (JSONL/JSON parse errors), JSON path."""

    file: str | None = None
    record: int | None = None
    line: int | None = None
    path: str = "$"

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.record is not None:
            parts.append(f"record {self.record}")
        if self.path and self.path != "$":
            parts.append(self.path)
        return " ".join(parts) or "<input>"


@dataclass
class Problem:
    """One finding. `code` groups problems in reports (e.g. 'placeholder-count', 'schema')."""

    code: str
    message: str
    where: Location = field(default_factory=Location)
    expected: str | None = None
    found: str | None = None
    fix: str | None = None

    def describe(self) -> str:
        text = f"{self.where}: {self.message}"
        if self.expected is not None or self.found is not None:
            text += f" (expected {self.expected}, found {self.found})"
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.where.file,
            "record": self.where.record,
            "line": self.where.line,
            "path": self.where.path,
            "expected": self.expected,
            "found": self.found,
            "fix": self.fix,
        }


class RecordError(VlmDataError):
    """A record that cannot be read or written; wraps one Problem."""

    def __init__(self, problem: Problem):
        super().__init__(problem.describe())
        self.problem = problem


class LossyConversionError(VlmDataError):
    """The target format cannot express some records; lists them (the CLI suggests --allow-lossy)."""

    def __init__(self, target: str, problems: list[Problem], total: int):
        self.target = target
        self.problems = problems
        self.total = total
        shown = "\n".join("  " + p.describe().replace("\n", "\n  ") for p in problems[:20])
        more = f"\n  ... and {total - 20} more" if total > 20 else ""
        super().__init__(
            f"{total} record(s) cannot be expressed in {target} without loss:\n{shown}{more}\n"
            f"Nothing was written. Re-run with --allow-lossy to convert anyway; every change is counted "
            f"and listed in the report."
        )


class InvalidDataError(VlmDataError):
    """`convert`/`download` found records that `validate` refuses: its problems, nothing written."""

    def __init__(self, problems: list[Problem], bad_records: int, records: int, out: str, fix: str):
        self.problems = problems
        shown = "\n".join("  " + p.describe().replace("\n", "\n  ") for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        where = f"in {bad_records:,} of {records:,} record(s)" if records else "in the dataset"
        super().__init__(
            f"{len(problems):,} problem(s) {where}:\n{shown}{more}\nNothing was written to {out}. {fix}"
        )
