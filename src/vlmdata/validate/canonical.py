"""Canonical Parquet shards: the Arrow schema (with the `huggingface` metadata) once per file, then the
semantic checks per row; images hold bytes, so their headers are read from the bytes.

    check_arrow_schema(path, pq.ParquetFile(path).schema_arrow) -> [Problem, ...]   # [] when canonical
    check_canonical(row) -> (problems, [("$.images[0]", {"bytes": b"...", "path": "x.png"})])
"""

from __future__ import annotations

import json
from pathlib import Path

from vlmdata.checks import ImageRef, Turn, check_turns, count_problem
from vlmdata.errors import Location, Problem
from vlmdata.record import HF_FEATURES, LEGACY_HF_FEATURES, ROLES


def check_canonical(rec: dict) -> tuple[list[Problem], list[ImageRef]]:
    """A row of a canonical Parquet shard (types already checked against the Arrow schema): normal form,
    roles, turn order, one image per image part, each image with bytes or a path."""
    problems: list[Problem] = []
    if not rec.get("id"):
        problems.append(
            Problem("missing-field", "record has no id", Location(path="$.id"), "a string", "null")
        )
    turns: list[Turn] = []
    n_parts = {"image": 0, "video": 0, "audio": 0}
    for i, m in enumerate(rec.get("messages") or ()):
        mpath = f"$.messages[{i}]"
        if m is None:  # Arrow lets list items and structs be null
            problems.append(Problem("type", "message is null", Location(path=mpath), "object", "null"))
            continue
        role = m.get("role")
        if role not in ROLES:
            problems.append(
                Problem("role", "unknown role", Location(path=f"{mpath}.role"), "|".join(ROLES), repr(role))
            )
        has_content = False
        prev_kind = None
        for j, part in enumerate(m.get("content") or ()):
            ppath = f"{mpath}.content[{j}]"
            if part is None:
                problems.append(
                    Problem("type", "content part is null", Location(path=ppath), "object", "null")
                )
                continue
            kind, text = part.get("type"), part.get("text")
            if kind in n_parts:
                n_parts[kind] += 1
                has_content = True
                if text is not None:
                    problems.append(
                        Problem(
                            "normal-form",
                            f"{kind} part carries text",
                            Location(path=f"{ppath}.text"),
                            "null",
                            repr(text),
                        )
                    )
            elif kind == "text":
                if not text:
                    problems.append(
                        Problem(
                            "normal-form",
                            "empty text part",
                            Location(path=f"{ppath}.text"),
                            "non-empty text",
                            repr(text),
                        )
                    )
                elif prev_kind == "text":
                    problems.append(
                        Problem(
                            "normal-form",
                            "adjacent text parts (the canonical form merges them)",
                            Location(path=ppath),
                            "an image part between text parts",
                            "two text parts in a row",
                        )
                    )
                has_content = has_content or bool(text and text.strip())
            else:
                problems.append(
                    Problem(
                        "part-type",
                        "unknown content part type",
                        Location(path=f"{ppath}.type"),
                        "text|image|video|audio",
                        repr(kind),
                    )
                )
            prev_kind = kind
        turns.append((i, role if role in ROLES else None, not has_content))
    problems.extend(check_turns(turns, "$.messages", "role"))
    refs: list[ImageRef] = []
    for kind in ("image", "video", "audio"):
        key = f"{kind}s"
        listed = rec.get(key) or ()  # null: a legacy shard or from_pylist without the column
        for k, item in enumerate(listed):
            if item is None or (item.get("bytes") is None and not item.get("path")):
                problems.append(
                    Problem(
                        f"{kind}-value",
                        f"{kind} has neither bytes nor a path",
                        Location(path=f"$.{key}[{k}]"),
                        "bytes or a path",
                        "neither",
                    )
                )
            else:
                refs.append((f"$.{key}[{k}]", item, kind))
        if n_parts[kind] != len(listed):
            problems.append(
                count_problem(
                    len(listed),
                    n_parts[kind],
                    f"{kind} parts",
                    f"$.{key}",
                    f"add a {kind} part per {kind}, or one {kind} per part",
                    kind,
                )  # fmt: skip
            )
    return problems, refs


def check_arrow_schema(path: Path, schema) -> list[Problem]:
    """A canonical shard has exactly `record.ARROW_SCHEMA`, including the `huggingface` metadata that makes
    `datasets` decode the images (it ignores the metadata silently when any type differs)."""
    from vlmdata.record import ARROW_SCHEMA, LEGACY_SCHEMA

    file = str(path)
    problems = []
    found = {f.name: f for f in schema}
    legacy = "videos" not in found and "audios" not in found  # written before videos/audios were carried
    reference = LEGACY_SCHEMA if legacy else ARROW_SCHEMA
    expected = {f.name: f for f in reference}
    for name, field in expected.items():
        if name not in found:
            problems.append(
                Problem(
                    "arrow-schema",
                    "column missing",
                    Location(file, path=f"$.{name}"),
                    str(field.type),
                    "missing",
                )
            )
        elif not found[name].type.equals(field.type):
            problems.append(
                Problem(
                    "arrow-schema",
                    "column type differs from the canonical schema (datasets then ignores the image features)",
                    Location(file, path=f"$.{name}"),
                    str(field.type),
                    str(found[name].type),
                    "rewrite the shard with vlmdata convert --to parquet",
                )
            )
    extra = [n for n in found if n not in expected]
    if extra:
        problems.append(
            Problem("arrow-schema", "extra columns", Location(file), ", ".join(expected), ", ".join(found))
        )
    if (
        not extra
        and list(found) != list(expected)
        and not any(p.message == "column missing" for p in problems)
    ):
        problems.append(
            Problem(
                "arrow-schema",
                "columns in another order",
                Location(file),
                ", ".join(expected),
                ", ".join(found),
            )
        )
    meta = (schema.metadata or {}).get(b"huggingface")
    try:
        features = json.loads(meta)["info"]["features"] if meta else None
    except (ValueError, KeyError, TypeError):
        features = "unreadable"
    if features != (LEGACY_HF_FEATURES if legacy else HF_FEATURES):
        problems.append(
            Problem(
                "hf-metadata",
                "huggingface schema metadata is missing or differs: datasets will not decode the images",
                Location(file),
                "the canonical features (vlmdata.record.HF_FEATURES)",
                "missing" if features is None else "other features",
                "rewrite the shard with vlmdata convert --to parquet",
            )
        )
    return problems
