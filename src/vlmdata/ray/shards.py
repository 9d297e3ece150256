"""`convert --engine ray`'s canonical shards, written on the workers: the driver plans, the workers write.

    sink = PlannedShards(ray, staging, "train", max_shard_bytes, writes)
    sink.add(sizes, videos, table_ref)   # a part's rows: their sizes (vlmdata.shard_plan) and its table
    ...                                  # a shard whose rows are all planned goes to a write_shard task
    sink.finish()                        # the last shard too
    wait_for(ray, writes)                # then Job.output's commit step: sink.close() names the shards

Phase 1 (vlmdata.ray.convert) leaves each part's converted Arrow table in Ray's object store (a separate
task return: the driver holds only its ref, and Ray rebuilds it by lineage if its node is lost) and
sends the driver the rows' sizes. The driver runs the single-machine ShardWriter's rule
(vlmdata.shard_plan) on those sizes, so shards and row groups end on the same rows; each write_shard task
gets the refs of the tables its shard's rows are in and writes the row groups as ShardWriter does
(vlmdata.io: one contiguous chunk each, the same writer options): the same bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

from vlmdata.io import ROW_GROUP_BYTES, name_shards, partial_name
from vlmdata.ray.engine import Failure, _result, from_ipc
from vlmdata.shard_plan import RowGroup, ShardPlanner

# A write task asks for no CPU of Ray's: it is mostly copying, Snappy and file I/O, so it runs beside the
# conversions (as the driver's writing did before it moved to the workers) instead of queueing behind
# them; how many run at once is bounded by the shards planned, their memory by the object store.
WRITE_TASK_CPUS = 0


def write_shard(path: str, spec: list, *buffers) -> Failure | None:
    """Phase 2, on a worker: one shard's row groups, spec = [[(table k, start, stop), ...] per group],
    from the parts' tables (Arrow IPC buffers, vlmdata.ray.convert.to_ipc). Written under a name of
    its own, then renamed: a retried attempt never shares a file with a killed one."""
    from vlmdata.io import open_shard, row_group_table, write_row_group

    tables = [from_ipc(b) for b in buffers]
    attempt = f"{path}.{os.getpid()}"
    try:
        writer = open_shard(attempt)
        try:
            for group in spec:
                write_row_group(writer, row_group_table([tables[k].slice(a, b - a) for k, a, b in group]))
        finally:
            writer.close()
        os.replace(attempt, path)
    except OSError as exc:
        return Failure(exc)
    return None


class PlannedShards:
    """The driver's sink for one canonical split: plans row groups from the parts' sizes and hands each
    finished shard to a write_shard task (its ref goes to `writes`)."""

    media: set = set()  # Parquet always has the videos and audios columns

    def __init__(self, ray, out_dir: Path, split: str, max_shard_bytes: int, writes: list):
        self.ray, self.out_dir, self.split, self.writes = ray, Path(out_dir).resolve(), split, writes
        self.planner = ShardPlanner(ROW_GROUP_BYTES, max_shard_bytes)
        self.tables: list = []  # (first row, rows, ref) of the parts whose rows are not all sent yet
        self.groups: list[RowGroup] = []  # the open shard's row groups
        self.shards = 0
        self.remote = ray.remote(max_retries=3, num_cpus=WRITE_TASK_CPUS)(write_shard)

    def add(self, sizes, videos, ref) -> None:
        if len(sizes):
            self.tables.append((self.planner.rows, len(sizes), ref))
            self._planned(self.planner.add(sizes, videos))

    def finish(self) -> None:
        self._planned(self.planner.finish())
        if self.groups:
            self._send()

    def close(self) -> list[str]:
        """After every write: the shards get their final names (and a killed attempt's file goes)."""
        for k in range(self.shards):
            for stray in self.out_dir.glob(f"{partial_name(self.split, k)}.*"):
                stray.unlink()
        return [p.name for p in name_shards(self.out_dir, self.split, self.shards)]

    def _planned(self, groups: list[RowGroup]) -> None:
        for group in groups:
            if self.groups and group.shard != self.groups[0].shard:
                self._send()
            self.groups.append(group)

    def _send(self) -> None:
        start, stop = self.groups[0].start, self.groups[-1].stop
        used = [t for t in self.tables if t[0] < stop and t[0] + t[1] > start]
        spec = [
            [
                (k, max(g.start, first) - first, min(g.stop, first + n) - first)
                for k, (first, n, _) in enumerate(used)
                if first < g.stop and first + n > g.start
            ]
            for g in self.groups
        ]
        path = self.out_dir / partial_name(self.split, self.groups[0].shard)
        self.writes.append(self.remote.remote(str(path), spec, *[ref for _, _, ref in used]))
        self.tables = [t for t in self.tables if t[0] + t[1] > stop]  # the store frees the others
        self.shards = self.groups[0].shard + 1
        self.groups = []


def wait_for(ray, writes: list, keep: bool) -> None:
    """Every write task's end: the first error raised (keep), or, when nothing will be kept, each task
    cancelled and waited for, so that no worker writes into the staging folder while it is removed."""
    if keep:
        try:
            for ref in writes:
                _result(ray, ref)
        except BaseException:
            _cancel(ray, writes)
            raise
    else:
        _cancel(ray, writes)


def _cancel(ray, writes: list) -> None:
    if writes and ray.is_initialized():
        for ref in writes:
            ray.cancel(ref)
        ray.wait(writes, num_returns=len(writes), timeout=120)
