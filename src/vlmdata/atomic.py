"""Atomic writes: a file or a folder is written under a temporary name beside its destination and renamed
onto it only when complete, so an error, an interrupt or a reader never sees it half written. The one
implementation for `vlmdata` and `vlmtrain` (no heavy import here).

    atomic_write_text("out/metrics.json", text)         # also atomic_write_bytes
    with atomic_file("out/predictions.jsonl", "w") as fh: fh.write(...)
    with atomic_folder("models/tiny") as tmp: build(tmp)      # tmp replaces models/tiny on success
    replace_folder(staged, final)                        # a finished folder onto final (old one aside)
    with atomic_output_dir("data/out", overwrite=False) as tmp: ...   # the commands' output folders

Files and folders get the permissions open() and mkdir() give under the umask (tempfile makes 0600
files and 0700 folders, which renamed into place would stay unreadable to the group).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vlmdata.errors import OutputBusyError, UsageError


def umask_mode(directory: bool) -> int:
    mask = os.umask(0)  # the only way to read the umask; set straight back
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator:
    """An open temporary file beside `path`; on success it replaces `path`, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, umask_mode(False))
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_file(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    with atomic_file(path, "w", encoding) as fh:
        fh.write(text)
    return Path(path)


def replace_folder(staged: str | os.PathLike, final: str | os.PathLike) -> None:
    """Rename a complete folder onto `final`. An existing `final` is moved aside first (rename cannot
    replace a non-empty folder) and deleted only once the new one is in place."""
    staged, final = Path(staged), Path(final)
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    os.replace(staged, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_folder(out: str | os.PathLike) -> Iterator[Path]:
    """A new temporary folder beside `out`; on success it replaces `out` (replace_folder), on error it
    is removed. Whether an existing `out` may be replaced is the caller's decision."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    os.chmod(tmp, umask_mode(True))
    with _staged(tmp, out):
        yield tmp


@contextmanager
def _staged(tmp: Path, out: Path) -> Iterator[None]:
    """The body fills `tmp`: on success it replaces `out`, on any error (an interrupt too) it is removed."""
    try:
        yield
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_folder(tmp, out)


@contextmanager
def atomic_output_dir(out: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder next to `out`; on success it replaces `out`, on error it is removed.

    An existing `out` is an error unless `overwrite`; the old folder is only deleted after the new one
    is complete. `out` has one writer: a second command writing it while this one runs fails at once
    (`out_lock`), so one never silently replaces the other.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out_lock(out):
        if out.exists() and not overwrite:
            raise UsageError(f"output folder {out} already exists; pass --overwrite to replace it")
        if out.exists() and not out.is_dir():
            raise UsageError(f"output path {out} exists and is not a folder")
        tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"  # the pid: clean_stale removes a killed run's
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        with _staged(tmp, out):
            yield tmp


@contextmanager
def out_lock(out: Path) -> Iterator[None]:
    """`.<out>.lock` beside `out`, created exclusively (O_EXCL) and holding the writer's pid. A lock
    whose process is gone (killed) is taken over; a live one makes this command fail at once."""
    lock = out.parent / f".{out.name}.lock"
    for _ in range(2):
        if _create_with_pid(lock):
            break
        try:
            pid = int(lock.read_text().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid and pid != os.getpid() and alive(pid):
            raise OutputBusyError(
                f"{out} is being written by another vlmdata command (pid {pid}); wait for it to finish "
                "or choose another --out"
            ) from None
        lock.unlink(missing_ok=True)  # left by a killed run (or unreadable): take it over
    else:
        raise OutputBusyError(f"{out}: another command took the lock {lock} at the same moment; run again")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _create_with_pid(lock: Path) -> bool:
    """Create `lock` holding this process's pid, in one step: False when it exists. The pid is written to
    a private file first and hard-linked into place, so another command never sees the lock empty (an
    empty lock read as a killed run's let two commands write one --out at once)."""
    mine = lock.with_name(f"{lock.name}.{os.getpid()}")
    mine.write_text(str(os.getpid()))
    try:
        os.link(mine, lock)
    except FileExistsError:
        return False
    finally:
        mine.unlink(missing_ok=True)
    return True


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
