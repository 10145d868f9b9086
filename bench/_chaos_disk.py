"""A disk that can be filled: the SQLite file's folder on a small tmpfs, with a ballast file.

``mount -t tmpfs -o size=…`` needs root (CAP_SYS_ADMIN). Where mounting is refused (an
unprivileged container), the honest substitute is a file-size limit: the processes started
while the disk is "full" get ``RLIMIT_FSIZE`` at the size the database files have then, so any
write that would grow them fails with EFBIG (Python ignores SIGXFSZ), which SQLite reports as
an I/O error instead of "database or disk is full". ``mode`` says which one a run used.
"""

from __future__ import annotations

import os
import resource
import subprocess
from collections.abc import Callable
from pathlib import Path

SLACK = 8 * 1024  # bytes left free when full: less than one more WAL frame of 4 KiB pages


class Disk:
    """The folder holding the SQLite file, and the means to fill it and free it again."""

    def __init__(self, folder: Path, *, size_mb: int = 48) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
        self.mode = "tmpfs" if done.returncode == 0 else "rlimit-fsize"
        self.why_not_tmpfs = "" if done.returncode == 0 else done.stderr.strip()
        self.ballast = folder / "ballast"
        self._limit: int | None = None

    @property
    def full(self) -> bool:
        """Whether the disk is full now."""
        return self.ballast.exists() or self._limit is not None

    def fill(self) -> None:
        """Take every byte but ``SLACK`` (or, without tmpfs, cap the size of files written)."""
        if self.mode == "tmpfs":
            with self.ballast.open("ab") as fh:
                # The processes write meanwhile: take what is free, again, until SLACK is left.
                for _ in range(20):
                    st = os.statvfs(self.folder)
                    free = st.f_bavail * st.f_frsize - SLACK
                    if free <= 0:
                        break
                    try:
                        os.posix_fallocate(fh.fileno(), fh.seek(0, os.SEEK_END), free)
                    except OSError:
                        continue  # someone took some of it first: measure again
            return
        sizes = [p.stat().st_size for p in self.folder.iterdir() if p.is_file()]
        self._limit = max(sizes, default=0) + SLACK

    def free(self) -> None:
        """Give the space back."""
        self.ballast.unlink(missing_ok=True)
        self._limit = None

    def preexec(self) -> Callable[[], None] | None:
        """What a child must run before ``exec`` while the disk is full (rlimit mode only)."""
        limit = self._limit
        if limit is None:
            return None

        def cap() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        return cap

    def close(self) -> None:
        """Unmount (the files on it go with it)."""
        self.free()
        if self.mode == "tmpfs":
            subprocess.run(["umount", "-l", str(self.folder)], capture_output=True)
