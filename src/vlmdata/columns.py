"""Arrow arrays as numpy arrays, read from their buffers.

pyarrow turns Python values into Arrow ones (pa.array, pa.scalar, a scalar argument to a compute
function, to_numpy) through code that imports pandas, half a second on a small machine; validate's
columnar pass reads and writes buffers instead, so `vlmdata validate` never loads pandas.

    bits(pc.is_null(arr)) -> bool [n]         valid(arr) -> bool [n] (True where not null)
    ints(pc.list_parent_indices(lists)) -> int64 [m]; ints(arr, null=-1) where arr has nulls
    codes(strings, ("user", "assistant")) -> int64 [n]: index in the names, -1 for others and nulls
    printable(strings) -> bool [n]: holds a printable non-space ASCII character; mask(bool [n]) -> Arrow
"""

from __future__ import annotations

import numpy as np


def bits(array) -> np.ndarray:
    """A BooleanArray without nulls -> bool [n] (nulls, if any, read as False)."""
    out = _unpack(array.buffers()[1], array.offset, len(array))
    if array.null_count:
        out &= valid(array)
    return out


def valid(array) -> np.ndarray:
    """True where the array holds a value (not null)."""
    if array.null_count == 0:
        return np.ones(len(array), np.bool_)
    return _unpack(array.buffers()[0], array.offset, len(array))


def ints(array, null: int | None = None) -> np.ndarray:
    """An integer array -> int64 [n], nulls read as `null` (an array with nulls needs one)."""
    dtype = _INT[str(array.type)]
    data = np.frombuffer(array.buffers()[1], dtype, len(array), array.offset * dtype.itemsize)
    out = data.astype(np.int64)
    if array.null_count:
        if null is None:
            raise ValueError("ints() of an array with nulls needs null=")
        out[~valid(array)] = null
    return out


def offsets(array) -> np.ndarray:
    """A string or list array's value offsets [n + 1] (int64)."""
    dtype = np.dtype(np.int64) if str(array.type).startswith("large_") else np.dtype(np.int32)
    data = np.frombuffer(array.buffers()[1], dtype, len(array) + 1, array.offset * dtype.itemsize)
    return data.astype(np.int64)


def mask(flags: np.ndarray):
    """bool [n] -> a pyarrow BooleanArray (for filter)."""
    import pyarrow as pa

    packed = np.packbits(np.asarray(flags, np.bool_), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(flags), [None, pa.py_buffer(packed.tobytes())])


def printable(strings) -> np.ndarray:
    """bool [n]: the string holds a printable, non-space ASCII character (so str.strip() leaves some of
    it); False for nulls. Most texts start or end with one, read from the buffers; the rest are
    searched."""
    import pyarrow.compute as pc

    n = len(strings)
    if n == 0:
        return np.zeros(0, np.bool_)
    ends = offsets(strings)
    data = np.frombuffer(strings.buffers()[2] or b"\0", np.uint8)
    lo, hi = ends[:-1], ends[1:]
    filled = hi > lo
    first = data[np.where(filled, lo, 0)]
    last = data[np.where(filled, hi - 1, 0)]
    out = filled & (((first > 32) & (first < 127)) | ((last > 32) & (last < 127))) & valid(strings)
    rest = np.flatnonzero(filled & ~out & valid(strings))
    if len(rest):
        picked = np.zeros(n, np.bool_)
        picked[rest] = True
        found = pc.match_substring_regex(strings.filter(mask(picked)), pattern="[!-~]")
        out[rest] = bits(found)
    return out


def codes(array, names) -> np.ndarray:
    """Each string's index in `names`; -1 for any other value and for nulls."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(array)
    lookup = np.asarray([names.index(v) if v in names else -1 for v in encoded.dictionary.to_pylist()] + [-1])
    return lookup[ints(encoded.indices, null=len(lookup) - 1)]


_INT = {"int8": np.dtype(np.int8), "int16": np.dtype(np.int16), "int32": np.dtype(np.int32),
        "int64": np.dtype(np.int64), "uint8": np.dtype(np.uint8), "uint32": np.dtype(np.uint32)}  # fmt: skip


def _unpack(buffer, offset: int, n: int) -> np.ndarray:
    raw = np.frombuffer(buffer, np.uint8)
    return np.unpackbits(raw, bitorder="little")[offset : offset + n].astype(np.bool_)
