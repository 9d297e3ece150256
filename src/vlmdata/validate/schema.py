"""The formats' JSON Schemas: a fast yes/no per record, precise messages for the records that fail.

    checker = SchemaChecker("sharegpt")
    checker.problems({"messages": [{"role": "bot", "content": "hi"}]})
      -> [Problem("role", "'bot' is not one of ['user', 'assistant', 'system', 'human', 'gpt']",
                  Location(path="$.messages[0].role"), expected="one of user|assistant|system|human|gpt",
                  found="'bot'")]

jsonschema_rs answers is_valid about 100x faster than pure-Python jsonschema; only records that fail
go through jsonschema's iter_errors, whose anyOf/oneOf descent (best_match) names the deepest branch
that almost matched instead of "is not valid under any of the given schemas".
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

from vlmdata.errors import Location, Problem, json_type
from vlmdata.formats import FORMATS
from vlmdata.formats.sharegpt import DEFAULT_ROLE_MAP

# every format's JSON Schema (formats.FORMATS), plus LLaMA-Factory's dataset_info.json
SCHEMA_NAMES = (*(m.SCHEMA for m in FORMATS.values() if m.SCHEMA), "dataset_info")


@cache
def load_schema(name: str) -> dict:
    """The JSON Schema shipped as package data: `schemas/<name>.schema.json`."""
    text = resources.files("vlmdata").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)


def json_path(parts) -> str:
    """deque(['messages', 1, 'role']) -> '$.messages[1].role'"""
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _types(branch: dict, root: dict) -> list[str]:
    """The JSON types a (sub)schema accepts: {"anyOf": [{"type": "string"}, {"$ref": ...}]} -> [...]"""
    if "$ref" in branch:
        branch = _resolve(branch["$ref"], root)
    if "type" in branch:
        return branch["type"] if isinstance(branch["type"], list) else [branch["type"]]
    out: list[str] = []
    for sub in branch.get("anyOf", branch.get("oneOf", [])):
        out += [t for t in _types(sub, root) if t not in out]
    return out


def _resolve(ref: str, root: dict) -> dict:
    node = root
    for key in ref.lstrip("#/").split("/"):
        node = node[key]
    return node


def _closest_branch(err, root: dict):
    """For an anyOf/oneOf the instance matched no branch of: the errors of the branch it was closest
    to (its type fits, most of its keys present), or None when no branch even has the right type."""
    found = json_type(err.instance)
    branches: dict[int, list] = {}
    for e in err.context:
        branches.setdefault(e.relative_schema_path[0], []).append(e)

    def score(i: int):
        sub = err.validator_value[i]
        sub = _resolve(sub["$ref"], root) if "$ref" in sub else sub
        types = _types(sub, root)
        fits = not types or found in types or (found == "integer" and "number" in types)
        keys = set(sub.get("required", ())) | set(sub.get("properties", {}))
        overlap = len(keys & set(err.instance)) if isinstance(err.instance, dict) else 0
        return (fits, overlap, -len(branches[i]))

    best = max(branches, key=score)
    return branches[best] if score(best)[0] else None


def _problems(err, root: dict) -> list[Problem]:
    from jsonschema.exceptions import best_match

    err = best_match([err])  # descends into anyOf/oneOf while one branch is clearly closest
    if err.validator in ("anyOf", "oneOf") and err.context:
        value = err.validator_value
        if all(set(b) == {"required"} for b in value):
            # {"anyOf": [{"required": ["messages"]}, {"required": ["conversations"]}]}: both missing
            names = [b["required"][0] for b in value]
            return [
                Problem(
                    "missing-field",
                    " or ".join(map(repr, names)) + " is a required property",
                    Location(path=f"{json_path(err.absolute_path)}.{names[0]}"),
                    "a value",
                    "missing",
                )
            ]
        closest = _closest_branch(err, root)
        if closest is None:
            types = _types(err.schema, root)
            return [
                Problem(
                    "type",
                    f"{_short(err.instance)} is not of type {' or '.join(map(repr, types))}",
                    Location(path=json_path(err.absolute_path)),
                    "|".join(types),
                    json_type(err.instance),
                )
            ]
        return [p for e in closest for p in _problems(e, root)]
    return [_problem(err)]


def _problem(err) -> Problem:
    path = json_path(err.absolute_path)
    kind, value = err.validator, err.validator_value
    code, expected, found = "schema", f"{kind}: {_short(value)}", _short(err.instance)
    if kind == "type":
        code = "type"
        expected = "|".join(value) if isinstance(value, list) else value
        found = json_type(err.instance)
    elif kind == "required":
        # Name the missing field itself, not the object that lacks it.
        missing = [k for k in value if isinstance(err.instance, dict) and k not in err.instance]
        code, path = "missing-field", f"{path}.{missing[0]}" if missing else path
        expected, found = "a value", "missing"
    elif kind in ("enum", "const"):
        code = "role" if path.endswith((".role", ".from")) else "enum"
        expected = "one of " + "|".join(map(str, value)) if kind == "enum" else repr(value)
    elif kind == "minLength":
        code, expected = "empty-value", f"at least {value} character(s)"
    return Problem(code, err.message, Location(path=path), expected, found)


class SchemaChecker:
    """One format's schema, compiled twice: jsonschema_rs for the fast path, jsonschema for messages."""

    def __init__(self, name: str):
        import jsonschema_rs

        self.name = name
        schema = self._schema = load_schema(name)
        self._fast = jsonschema_rs.validator_for(schema)
        self._slow_validator = None
        self.is_valid = self._fast.is_valid

    @property
    def _slow(self):
        """jsonschema (pure Python, slow to import) only once a record fails."""
        if self._slow_validator is None:
            import jsonschema

            self._slow_validator = jsonschema.Draft202012Validator(self._schema)
        return self._slow_validator

    def valid(self, raw) -> bool:
        """is_valid for records that may hold bytes (Parquet rows: image bytes, or views into Arrow)."""
        try:
            return self._fast.is_valid(_jsonable_images(raw))
        except ValueError:  # bytes elsewhere in the record
            return self._fast.is_valid(_jsonable(raw))

    def problems(self, raw) -> list[Problem]:
        """Every schema problem of a record (empty when valid)."""
        try:
            if self._fast.is_valid(raw):
                return []
        except ValueError:  # values JSON can't hold (image bytes from Parquet rows)
            raw = _jsonable(raw)
            if self._fast.is_valid(raw):
                return []
        return [p for e in self._slow.iter_errors(raw) for p in _problems(e, self._schema)]


def _jsonable_images(raw: dict) -> dict:
    """The common case, cheaply: bytes only in top-level lists of {bytes, path} (a row's images)."""
    out = {}
    for key, value in raw.items():
        if type(value) is list and value and type(value[0]) is dict and "bytes" in value[0]:
            value = [
                {**v, "bytes": "<bytes>"} if type(v) is dict and v.get("bytes") is not None else v
                for v in value
            ]
        out[key] = value
    return out


def _jsonable(value):
    """Parquet rows hold image bytes where JSON holds base64 text: check them as text."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return "<bytes>"
    return value


# -- dataset_info.json columns and tags --------------------------------------------------------------
_STANDARD_COLUMNS = {"messages": ("messages", "conversations"), "images": ("images",), "system": ("system",)}


def needs_renaming(columns: dict, tags: dict) -> bool:
    """Does a dataset_info.json entry name columns or tags the schemas don't know?"""
    for key, names in _STANDARD_COLUMNS.items():
        if columns.get(key) and columns[key] not in names:
            return True
    if tags.get("role_tag") not in (None, "role", "from") or tags.get("content_tag") not in (
        None,
        "content",
        "value",
    ):
        return True
    return any(
        tags.get(t) and tags[t] not in DEFAULT_ROLE_MAP for t in ("user_tag", "assistant_tag", "system_tag")
    )


class Renamer:
    """Map a record with dataset_info.json's own column and tag names onto the schema's names, and
    map JSON paths of the problems found back to the names in the user's file.

    columns {"messages": "dialog"}, tags {"role_tag": "speaker", "user_tag": "me"}:
      {"dialog": [{"speaker": "me", "content": "hi"}]} -> {"messages": [{"role": "user", "content": "hi"}]}
    """

    def __init__(self, columns: dict, tags: dict):
        self.columns = {columns[k]: k for k in _STANDARD_COLUMNS if columns.get(k)}
        self.role_tag = tags.get("role_tag") or "role"
        self.content_tag = tags.get("content_tag") or "content"
        self.roles = {
            tags[t]: r
            for t, r in (("user_tag", "user"), ("assistant_tag", "assistant"), ("system_tag", "system"))
            if tags.get(t)
        }
        back = {v: k for k, v in self.columns.items()}
        self._back_columns = {k: v for k, v in back.items() if k != v}
        self._back_tags = {"role": self.role_tag, "content": self.content_tag}

    def __call__(self, raw: dict) -> dict:
        out = {self.columns.get(k, k): v for k, v in raw.items()}
        turns = out.get("messages")
        if isinstance(turns, list):
            out["messages"] = [self._turn(t) for t in turns]
        return out

    def _turn(self, turn):
        if not isinstance(turn, dict):
            return turn
        out = {}
        for k, v in turn.items():
            if k == self.role_tag:
                out["role"] = self.roles.get(v, v) if isinstance(v, str) else v
            elif k == self.content_tag:
                out["content"] = v
            else:
                out[k] = v
        return out

    def path_back(self, path: str) -> str:
        m = re.match(r"^\$\.(\w+)", path)
        if m and m.group(1) in self._back_columns:
            path = f"$.{self._back_columns[m.group(1)]}{path[m.end() :]}"
        return re.sub(r"\]\.(role|content)$", lambda x: f"].{self._back_tags[x.group(1)]}", path)
