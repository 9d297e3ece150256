"""Layer 0 (errors): vlmtrain's domain exceptions; the CLI prints them without a traceback."""

from __future__ import annotations

from vlmdata.errors import VlmDataError


class VlmTrainError(VlmDataError):
    """A problem the user can fix (bad config, missing data, incompatible model)."""


class ConfigError(VlmTrainError):
    """All problems found in a config, listed at once."""

    exit_code = 2

    def __init__(self, problems: list[str], source: str = "config"):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s):\n{lines}")
