"""Semantic checks a JSON Schema can't express, as pure functions over one record.

Each format module's `check(raw)` (built from the helpers here) takes a raw record (after any dataset_info.json column/tag renaming, see
`vlmdata.validate.schema.standard_keys`) and returns every problem it finds plus the images the record
refers to, for the image checks that follow:

    formats.sharegpt.check({"messages": [{"role": "user", "content": "<image><image>Hi"}], "images": ["a.jpg"]})
      -> ([Problem("image-count", "number of images (1) does not match number of <image> placeholders (2)",
                   Location(path="$.images"), expected="2", found="1"),
           Problem("last-turn", "the last turn must be the assistant's",
                   Location(path="$.messages[0].role"), expected="assistant", found="user")],
          [("$.images[0]", "a.jpg")])

The checks run on records that failed the schema too (every problem is listed, not the first), so they
skip values of the wrong type: the schema reports those. Locations carry only the JSON path; the caller
fills in file, record and line. Messages match the format readers' own wording where both see a problem.
"""

from __future__ import annotations

from typing import Any

from vlmdata.errors import Location, Problem, json_type  # noqa: F401 (json_type: re-exported)
from vlmdata.record import ROLES

ImageRef = tuple[str, Any, str]  # (JSON path, what the record stores for it, "image" | "video" | "audio")
Turn = tuple[int, Any, bool]  # (turn index, canonical role or None if unknown, empty?)


def check_turns(turns: list[Turn], container: str, role_key: str) -> list[Problem]:
    """Roles alternate user/assistant after an optional leading system turn; the assistant speaks last;
    no turn is empty. Unknown roles (None) are the schema's to report and are skipped here.

    Paths are built only for problems (this runs on every record): turn i's role is at
    `{container}[i].{role_key}`; index -1 stands for a `system` column ($.system).
    """
    if _fine(turns):
        return []

    def at(i: int, key: str | None = role_key) -> str:
        if i < 0:
            return "$.system"
        return f"{container}[{i}].{key}" if key else f"{container}[{i}]"

    problems: list[Problem] = []
    if not turns:
        return [
            Problem(
                "empty-conversation",
                "conversation has no turns",
                Location(path=container),
                "at least a user and an assistant turn",
                "[]",
            )
        ]
    prev = None
    for n, (i, role, empty) in enumerate(turns):
        path = at(i)
        if empty:
            problems.append(
                Problem(
                    "empty-turn",
                    "turn has no text and no image",
                    Location(path=at(i, None)),
                    "text or an image",
                    "empty content",
                    "remove the turn or give it content",
                )
            )
        if role is None:
            continue
        if role == "system":
            if n != 0:
                problems.append(
                    Problem(
                        "role-order",
                        "a system turn may only come first",
                        Location(path=path),
                        "user|assistant",
                        "'system'",
                        "move the system prompt to the first turn",
                    )
                )
        elif prev is None and role != "user":
            problems.append(
                Problem(
                    "role-order",
                    "the conversation must start with a user turn",
                    Location(path=path),
                    "'user'",
                    repr(role),
                )
            )
        elif prev is not None and role == prev:
            other = "assistant" if role == "user" else "user"
            problems.append(
                Problem(
                    "role-order",
                    "roles must alternate between user and assistant",
                    Location(path=path),
                    repr(other),
                    repr(role),
                    "merge the two turns or add the missing turn between them",
                )
            )
        if role != "system":
            prev = role
    i, role, _ = turns[-1]
    path = at(i)
    if role is not None and role != "assistant":
        problems.append(
            Problem(
                "last-turn",
                "the last turn must be the assistant's",
                Location(path=path),
                "'assistant'",
                repr(role),
                "drop the trailing turn or add the assistant's answer",
            )
        )
    return problems


def _fine(turns: list[Turn]) -> bool:
    """The common case, answered without building anything: [system,] user, assistant, ... assistant."""
    k = 1 if turns and turns[0][1] == "system" else 0
    n = len(turns) - k
    if n < 2 or n % 2:
        return False
    expect = "user"
    for _, role, empty in turns[k:] if k else turns:
        if empty or role != expect:
            return False
        expect = "assistant" if expect == "user" else "user"
    return True


def count_problem(
    n_images: int, n_marks: int, what: str, path: str, fix: str, kind: str = "image"
) -> Problem:
    return Problem(
        f"{kind}-count",
        f"number of {kind}s ({n_images}) does not match number of {what} ({n_marks})",
        Location(path=path),
        str(n_marks),
        str(n_images),
        fix,
    )


def listed_images(value, path: str, kind: str = "image") -> list[ImageRef]:
    """A record's image (video, audio) list as (path, value, kind); a lone string counts as a list of one."""
    if value is None or value == []:
        return []
    if isinstance(value, list):
        return [(f"{path}[{k}]", v, kind) for k, v in enumerate(value)]
    return [(path, value, kind)]


def counted_media(
    value, path: str, n_marks: int, what: str, fix: str, problems: list[Problem], kind: str = "image"
) -> list[ImageRef]:
    """A record's listed images (videos, audios) at `path`; when their number is not the number of
    markers counted in the text, the count problem is added to `problems`.

        counted_media(["a.png"], "$.images", 2, "<image> placeholders", "put one ...", problems)
          -> [("$.images[0]", "a.png", "image")], problems + [image-count: 1 listed, 2 markers]
    """
    listed = listed_images(value, path, kind)
    if n_marks != len(listed):
        problems.append(count_problem(len(listed), n_marks, what, path, fix, kind))
    return listed


def marker_media(
    raw: dict, counts: dict, columns=("videos", "audios")
) -> tuple[list[Problem], list[ImageRef]]:
    """LLaMA-Factory's videos/audios columns against the <video>/<audio> markers counted in the text."""
    problems: list[Problem] = []
    refs: list[ImageRef] = []
    for key in columns:
        kind = key[:-1]
        fix = f"put one <{kind}> in the text per {kind}"
        refs += counted_media(
            raw.get(key), f"$.{key}", counts.get(kind, 0), f"<{kind}> placeholders", fix, problems, kind
        )
    return problems, refs


_LF_ROLE_TAGS = ("user_tag", "assistant_tag", "observation_tag", "function_tag", "system_tag")


def check_llamafactory(raw: dict, messages_key: str | None, tags: dict) -> list[Problem]:
    """What LLaMA-Factory itself would do with a record, given the columns and tags it uses for the
    entry (`dataset_info.lf_view`): a turn whose role is none of the entry's tags makes it skip the whole
    record (a warning in its log, nothing more), a turn without the content key stops it. At most one
    problem per record: LLaMA-Factory gives up on the record at the first.

        check_llamafactory({"messages": [{"role": "user", "content": "hi"}]}, "messages",
                           {"role_tag": "from", "content_tag": "value", "user_tag": "human", ...})
          -> [Problem("lf-tags", "LLaMA-Factory reads the text of each turn from 'value', ...", ...)]
    """
    turns = raw.get(messages_key) if messages_key else None
    if type(turns) is not list:
        return []  # the column checks report a missing messages column once per file
    role_tag, content_tag = tags.get("role_tag"), tags.get("content_tag")
    allowed = [tags[t] for t in _LF_ROLE_TAGS if tags.get(t)]
    for i, turn in enumerate(turns):
        if type(turn) is not dict:
            continue
        if not content_tag or content_tag not in turn:
            return [
                Problem(
                    "lf-tags",
                    f"LLaMA-Factory reads the text of each turn from {content_tag!r}, which this turn lacks",
                    Location(path=f"$.{messages_key}[{i}]"),
                    f"a {content_tag!r} key",
                    "/".join(sorted(turn)) or "no keys",
                    "set tags.content_tag (and role_tag) in dataset_info.json to the keys the turns use",
                )
            ]
        role = turn.get(role_tag) if role_tag else None
        if type(role) is not str or role not in allowed:
            return [
                Problem(
                    "lf-role",
                    "LLaMA-Factory skips this record: the role is none of the entry's tags",
                    Location(path=f"$.{messages_key}[{i}].{role_tag}"),
                    "one of " + "|".join(allowed),
                    repr(role),
                    "add the role to the entry's tags (user_tag, assistant_tag, system_tag) or rename it",
                )
            ]
    return []


SEQUENCE_TURNS = 21  # turns a packed sequence key holds (3 bits a turn in 63 bits)


def fine_turn_sequences(record_of, role, empty, n_records: int, roles=ROLES):
    """check_turns for many records at once, each distinct sequence of (role, empty) checked once.

    record_of [M] (ascending), role [M] (index into `roles`), empty [M] bool: the turns of n_records
    records, flattened. -> bool [n_records]: True where check_turns finds nothing for that record.
        fine_turn_sequences([0, 0, 1], [1, 2, 1], [False, False, False], 2) -> [True, False]
    """
    import numpy as np

    record_of = np.asarray(record_of, np.int64)
    code = np.asarray(role, np.uint64) * 2 + np.asarray(empty, np.uint64) + 1  # 1..6: never 0
    length = np.bincount(record_of, minlength=n_records)
    starts = np.cumsum(length) - length
    pos = np.arange(len(record_of), dtype=np.int64) - starts[record_of]
    digits = np.where(pos < SEQUENCE_TURNS, code << (np.uint64(3) * pos.clip(0, 20).astype(np.uint64)), 0)
    key = np.zeros(n_records, np.uint64)
    spoken = length > 0
    if spoken.any():
        key[spoken] = np.add.reduceat(digits.astype(np.uint64), starts[spoken])
    unique, inverse = np.unique(key, return_inverse=True)
    verdict = np.zeros(len(unique), np.bool_)
    for u, value in enumerate(unique.tolist()):
        turns, i = [], 0
        while value:
            c = (value & 7) - 1
            turns.append((i, roles[c // 2], bool(c % 2)))
            value >>= 3
            i += 1
        verdict[u] = not check_turns(turns, "$.messages", "role")
    fine = verdict[inverse.reshape(-1)]
    for r in np.flatnonzero(length > SEQUENCE_TURNS).tolist():  # longer conversations: one by one
        lo, hi = starts[r], starts[r] + length[r]
        turns = [(i, roles[int(role[k])], bool(empty[k])) for i, k in enumerate(range(lo, hi))]
        fine[r] = not check_turns(turns, "$.messages", "role")
    return fine
