"""SQLite (one machine, development and small installations): the lead is an exclusive
``flock`` on a file beside the database, which the kernel releases when the process dies."""

from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path


class FileLockLeadership:
    """SQLite: an exclusive ``flock`` on ``<database>.schedule-lock``; with no path (an
    in-memory database) the one process always leads."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._fd: int | None = None

    async def try_acquire(self) -> bool:
        if self._path is None:
            return True
        if self._fd is not None:
            return True
        fd = await asyncio.to_thread(os.open, self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def still_held(self) -> bool:
        return self._path is None or self._fd is not None

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
