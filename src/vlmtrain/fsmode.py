"""Layer 0 (file modes): permissions of files and folders written through a temporary name.

`tempfile.mkstemp` creates 0600 files and `tempfile.mkdtemp` 0700 folders whatever the umask: renamed
into place they stay unreadable to the group and others, unlike everything else a command writes.

    fd, tmp = tempfile.mkstemp(dir=...); honour_umask(tmp); ...; os.replace(tmp, out)
    -> out is 0644 under umask 022, 0664 under 002: what open() or mkdir() would have given
"""

from __future__ import annotations

import os


def umask_mode(directory: bool) -> int:
    mask = os.umask(0)  # the only way to read the umask; set straight back
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def honour_umask(path: str | os.PathLike) -> None:
    os.chmod(path, umask_mode(os.path.isdir(path)))
