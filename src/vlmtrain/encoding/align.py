"""Labels carried from the plain tokenization of a record's text onto the processor's expanded input_ids.

align_labels(u_ids, u_labels, e_ids, image_ids, record, space_ids) -> labels for e_ids
"""

from __future__ import annotations

import weakref

from vlmtrain.errors import VlmTrainError

IGNORE_INDEX = -100


# tokenizer -> {token id: decodes to whitespace only}: weak-keyed, so an entry goes with its tokenizer.
_SPACE_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def space_ids(tok, ids) -> set[int]:
    """The ids among `ids` that decode to whitespace only (cached per tokenizer object)."""
    known = _SPACE_CACHE.setdefault(tok, {})
    out = set()
    for t in ids:
        hit = known.get(t)
        if hit is None:
            hit = known[t] = not tok.decode([t], clean_up_tokenization_spaces=False).strip()
        if hit:
            out.add(t)
    return out


def _segments(ids: list[int], image_ids: set[int], space_ids: set[int]) -> list[tuple[int, int]]:
    """[start, end) of the text segments around runs of image tokens: always runs + 1 segments.

    Whitespace-only text between two image tokens joins their runs: templates and processors put
    different whitespace between adjacent images (Gemma3 wraps each image in "\n\n").
    """
    runs: list[list[int]] = []
    i = 0
    while i < len(ids):
        if ids[i] in image_ids:
            j = i
            while j < len(ids) and ids[j] in image_ids:
                j += 1
            if runs and all(t in space_ids for t in ids[runs[-1][1] : i]):
                runs[-1][1] = j
            else:
                runs.append([i, j])
            i = j
        else:
            i += 1
    bounds = [0] + [x for run in runs for x in run] + [len(ids)]
    return [(bounds[n], bounds[n + 1]) for n in range(0, len(bounds), 2)]


def align_labels(
    u_ids, u_labels, e_ids, image_ids: set[int], record: dict, space_ids=frozenset()
) -> list[int]:
    """Carry labels from the plain tokenization `u_ids` to the processor's expanded `e_ids`.

    The processor only rewrites image placeholders (e.g. one `<image>` -> 64 of them, or Gemma3's
    `<start_of_image>` -> "\\n\\n<start_of_image><image_soft_token>*256<end_of_image>\\n\\n"), so the
    text segments between image-token runs match pairwise, up to whitespace the processor added at
    either end of a segment:

        plain     [A, red, square, ., <eot>, \\n, <sot>, user, \\n]            <start_of_image> ...
        expanded  [\\n\\n, A, red, square, ., <eot>, \\n, <sot>, user, \\n\\n\\n]  <start_of_image> ...

    Within each pair the common prefix and suffix take the plain labels; what remains is diffed token by
    token, and the equal stretches take theirs. A trained token that lands in no equal stretch, or a
    difference that is not whitespace on both sides, means the processor changed text next to an
    assistant turn: we stop rather than guess.
    """
    su, se = _segments(u_ids, image_ids, space_ids), _segments(e_ids, image_ids, space_ids)
    if len(su) != len(se):
        raise VlmTrainError(
            f"record {record.get('id')!r}: the processor produced {len(se) - 1} image-token run(s) but the "
            f"chat template has {len(su) - 1}; the record's image parts and images do not line up"
        )
    labels = [IGNORE_INDEX] * len(e_ids)
    for (ua, ub), (ea, eb) in zip(su, se, strict=True):
        n = min(ub - ua, eb - ea)
        p = 0
        while p < n and u_ids[ua + p] == e_ids[ea + p]:
            p += 1
        q = 0
        while q < n - p and u_ids[ub - 1 - q] == e_ids[eb - 1 - q]:
            q += 1
        labels[ea : ea + p] = u_labels[ua : ua + p]
        if q:
            labels[eb - q : eb] = u_labels[ub - q : ub]
        if any(lab != IGNORE_INDEX for lab in u_labels[ua + p : ub - q]):
            _align_middle(u_ids, u_labels, ua + p, ub - q, e_ids, ea + p, eb - q, labels, space_ids, record)
    return labels


def _align_middle(u_ids, u_labels, ua, ub, e_ids, ea, eb, labels, space_ids, record) -> None:
    """Diff u_ids[ua:ub] against e_ids[ea:eb]; equal stretches take the plain labels (in `labels`)."""
    from difflib import SequenceMatcher

    # autojunk off: "\n" and other frequent tokens must still match
    matcher = SequenceMatcher(None, u_ids[ua:ub], e_ids[ea:eb], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            labels[ea + j1 : ea + j2] = u_labels[ua + i1 : ua + i2]
            continue
        changed = [*u_ids[ua + i1 : ua + i2], *e_ids[ea + j1 : ea + j2]]
        lost = any(lab != IGNORE_INDEX for lab in u_labels[ua + i1 : ua + i2])
        if lost or not all(t in space_ids for t in changed):
            raise VlmTrainError(
                f"record {record.get('id')!r}: cannot align assistant tokens with the processor's output "
                f"(the processor changed text next to an assistant turn: token ids {u_ids[ua + i1 : ua + i2]} "
                f"became {e_ids[ea + j1 : ea + j2]})"
            )
