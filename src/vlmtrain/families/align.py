"""Labels carried from the plain tokenization of a record's text onto the processor's expanded input_ids.

align_labels(u_ids, u_labels, e_ids, image_ids, record, space_ids) -> labels for e_ids
"""

from __future__ import annotations

from vlmtrain.errors import VlmTrainError

IGNORE_INDEX = -100


_SPACE_CACHE: dict[tuple[int, int], bool] = {}


def space_ids(tok, ids) -> set[int]:
    """The ids among `ids` that decode to whitespace only (cached per tokenizer object)."""
    key = id(tok)
    out = set()
    for t in ids:
        hit = _SPACE_CACHE.get((key, t))
        if hit is None:
            hit = _SPACE_CACHE[(key, t)] = not tok.decode([t]).strip()
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
    `<start_of_image>` -> "\\n\\n<start_of_image><image_soft_token>*256<end_of_image>\\n\\n"), so the text
    segments between image-token runs match pairwise up to a few tokens at their edges. Within each pair
    the common prefix and suffix take the plain labels; edge tokens that differ get -100, and if one of
    those was a trained token the mapping is ambiguous and we stop rather than guess.
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
            raise VlmTrainError(
                f"record {record.get('id')!r}: cannot align assistant tokens with the processor's output "
                "(the processor changed text next to an assistant turn)"
            )
    return labels
