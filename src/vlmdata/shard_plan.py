"""Where canonical shards and their row groups end: a rule on per-row sizes only, so that any engine (one
process, or Ray workers that never see each other's rows) cuts the same rows the same way.

    sizes, videos = table_sizes(table)            # or record_size(rec), bool(rec["videos"]) per record
    plan(sizes, videos, row_group_bytes, max_shard_bytes)
      -> [[(0, 812), (812, 1630)], [(1630, 1631), (1631, 2400)]]   # shards of row groups of row ranges

A row's size is ROW_BYTES plus the byte length of each of its media items (MISSING_MEDIA_BYTES for an
item without bytes). A row with a video is a row group alone (a reader that wants one sample reads its
video and no neighbour's). Other rows join the open row group, which closes when its size reaches
`row_group_bytes`; a shard closes when the sizes of its row groups reach `max_shard_bytes`. ShardWriter
(vlmdata.io) streams rows through a ShardPlanner; the Ray engine plans from the workers' sizes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vlmdata.record import MEDIA_LISTS

ROW_BYTES = 256  # a row's text and ids, roughly: only media sizes are counted exactly
MISSING_MEDIA_BYTES = 64  # a media item without bytes (a path only)


class RowGroup(NamedTuple):
    shard: int  # 0, 1, ...: shards are filled in order
    start: int  # rows [start, stop) of the split, in write order
    stop: int
    nbytes: int  # the rows' sizes, summed


def record_size(record: dict) -> int:
    """A canonical record's size: ROW_BYTES + its media items' byte lengths (table_sizes, per record)."""
    size = ROW_BYTES
    for key in MEDIA_LISTS:
        for item in record.get(key) or ():
            data = item.get("bytes") if isinstance(item, dict) else None
            size += len(data) if data else MISSING_MEDIA_BYTES
    return size


def table_sizes(table) -> tuple[np.ndarray, np.ndarray]:
    """Per row of an Arrow table in the canonical schema: (sizes as int64, has-a-video as bool), the
    values record_size and bool(record["videos"]) give for the same rows as records."""
    import pyarrow.compute as pc

    n = table.num_rows
    sizes = np.full(n, ROW_BYTES, dtype=np.int64)
    videos = np.zeros(n, dtype=bool)
    if n == 0:
        return sizes, videos
    for key in MEDIA_LISTS:
        if key not in table.column_names:
            continue
        first = 0
        for column in table[key].chunks:  # chunk by chunk: no copy of the media bytes
            rows = slice(first, first + len(column))
            first += len(column)
            items = pc.list_flatten(column)
            if key == "videos":
                videos[rows] = (
                    pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False) > 0
                )
            if len(items) == 0:
                continue
            lengths = pc.fill_null(pc.binary_length(pc.struct_field(items, "bytes")), 0).to_numpy()
            lengths = np.where(lengths > 0, lengths, MISSING_MEDIA_BYTES).astype(np.int64)
            parents = pc.list_parent_indices(column).to_numpy() + rows.start
            np.add.at(sizes, parents, lengths)
    return sizes, videos


class ShardPlanner:
    """The rule, streaming: rows go in (their sizes, in write order), finished row groups come out.

    planner = ShardPlanner(row_group_bytes, max_shard_bytes)
    planner.add(sizes, videos) -> [RowGroup, ...]   # the groups these rows closed
    planner.add_row(size, video) -> [RowGroup, ...] # the same for one row, without numpy
    planner.finish() -> [RowGroup] or []            # the last, open group
    """

    def __init__(self, row_group_bytes: int, max_shard_bytes: int):
        self.row_group_bytes = min(row_group_bytes, max_shard_bytes)
        self.max_shard_bytes = max_shard_bytes
        self.rows = 0  # rows seen
        self.group_start = 0  # the open group is rows [group_start, rows)
        self.group_bytes = 0
        self.shard = 0
        self.shard_bytes = 0

    def add_row(self, size: int, video: bool) -> list[RowGroup]:
        out: list[RowGroup] = []
        if video:
            self._close(out)
            self.rows += 1
            self.group_bytes = size
            self._close(out)
            return out
        self.rows += 1
        self.group_bytes += size
        if self.group_bytes >= self.row_group_bytes:
            self._close(out)
        return out

    def add(self, sizes, videos) -> list[RowGroup]:
        sizes = np.asarray(sizes, dtype=np.int64)
        videos = np.asarray(videos, dtype=bool)
        out: list[RowGroup] = []
        n = len(sizes)
        cum = np.cumsum(sizes)
        video_rows = np.flatnonzero(videos).tolist() + [n]
        base, i, v = self.rows, 0, 0
        while i < n:
            if video_rows[v] < i:
                v += 1
                continue
            if video_rows[v] == i:
                self.rows = base + i
                out += self.add_row(int(sizes[i]), True)
                i += 1
                continue
            end = video_rows[v]  # rows [i, end) have no video
            before = int(cum[i - 1]) if i else 0
            # the first row j at which the open group reaches row_group_bytes (sizes are > 0: cum rises)
            j = int(np.searchsorted(cum, before + self.row_group_bytes - self.group_bytes, side="left"))
            if j < end:
                self.group_bytes += int(cum[j]) - before
                self.rows = base + j + 1
                self._close(out)
                i = j + 1
            else:
                self.group_bytes += int(cum[end - 1]) - before
                i = end
        self.rows = base + n
        return out

    def finish(self) -> list[RowGroup]:
        out: list[RowGroup] = []
        self._close(out)
        return out

    def _close(self, out: list[RowGroup]) -> None:
        if self.rows == self.group_start:
            return
        if self.shard_bytes >= self.max_shard_bytes:  # the shard is full: this group starts the next
            self.shard += 1
            self.shard_bytes = 0
        out.append(RowGroup(self.shard, self.group_start, self.rows, self.group_bytes))
        self.shard_bytes += self.group_bytes
        self.group_start, self.group_bytes = self.rows, 0


def plan(sizes, videos, row_group_bytes: int, max_shard_bytes: int) -> list[list[tuple[int, int]]]:
    """The whole split at once: shards, each a list of its row groups' row ranges."""
    planner = ShardPlanner(row_group_bytes, max_shard_bytes)
    shards: list[list[tuple[int, int]]] = []
    for group in planner.add(sizes, videos) + planner.finish():
        if group.shard == len(shards):
            shards.append([])
        shards[group.shard].append((group.start, group.stop))
    return shards
