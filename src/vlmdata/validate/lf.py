"""What LLaMA-Factory cannot load although every record is fine on its own (its loader is `datasets`):

- a `.json` whose top level is an object wrapping the list (`{"data": [...]}`): `datasets`' JSON builder
  reads such a file as ONE row whose columns are the object's keys (LF then finds no `messages`);
- a column whose values have different JSON types across records (`images` a string in one record and a
  list in the others): pyarrow cannot type the column ("JSON parse error: Column(/images) changed from
  string to array"). null mixes with anything; integers and numbers are one type.

    column_types() .add(raw, index, line) ... .problems(file) -> [Problem("mixed-types", ...)]
"""

from __future__ import annotations

from vlmdata.errors import Location, Problem, json_type

_SAME = {"integer": "number"}


class column_types:  # noqa: N801 - used like a function that returns a collector
    """The first JSON type seen per top-level key, and the first record that differs."""

    def __init__(self):
        self.first: dict[str, tuple[str, int, int | None]] = {}
        self.mixed: dict[str, tuple[str, int, int | None]] = {}

    def add(self, raw: dict, index: int, line: int | None) -> None:
        first, mixed = self.first, self.mixed
        for key, value in raw.items():
            if value is None:
                continue
            kind = type(value)
            known = first.get(key)
            if known is None:
                first[key] = (kind, index, line)
            elif known[0] is not kind and key not in mixed and _name(known[0]) != _name(kind):
                mixed[key] = (kind, index, line)

    def problems(self, file: str) -> list[Problem]:
        out = []
        for key, (kind, index, line) in self.mixed.items():
            was, at, _ = self.first[key]
            out.append(
                Problem(
                    "mixed-types",
                    f"column {key!r} holds {_name(was)} values (first at record {at}) and {_name(kind)} "
                    "values: datasets/pyarrow cannot type the column, so LLaMA-Factory cannot load the file",
                    Location(file, index, line, f"$.{key}"),
                    _name(was),
                    _name(kind),
                    f"give {key!r} one type in every record (e.g. always a list)",
                )
            )
        return out


def _name(kind: type) -> str:
    name = json_type(kind())
    return _SAME.get(name, name)


def wrapped_problem(f) -> Problem:
    """The file's top level was an object around the records (inputs.iter_raw notes it)."""
    return Problem(
        "lf-wrapped",
        f"the records are wrapped in an object ({f.notes[0]}): LLaMA-Factory's loader (datasets' JSON "
        "builder) reads it as one row",
        Location(str(f.path)),
        "a top-level JSON list of records",
        "an object",
        "write the list itself as the file (vlmdata convert --to sharegpt does)",
    )
