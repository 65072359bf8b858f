"""An exclusive ``fcntl`` lock on a file, so two processes never share one Git workspace at once.

The kernel releases the lock when its holder dies, even by ``kill -9``, so a crashed run never
leaves a stale lock behind. A second process waits for the first, up to a timeout. POSIX only.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

from imagebot.errors import GitError

POLL_SECONDS = 0.05


class FileLock:
    """``acquire`` blocks until the lock is held or ``timeout`` passes; ``release`` frees it."""

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = path
        self._clock = clock
        self._sleep = sleep
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = self._clock() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if self._clock() >= deadline:
                    os.close(fd)
                    holder = self._holder()
                    raise GitError(
                        f"another imagebot process{holder} still holds {self.path} after "
                        f"{timeout:g} s; it is using the same Git workspace"
                    ) from None
                self._sleep(POLL_SECONDS)
        # The holder's pid is for humans reading the error above; the lock itself is flock's.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _holder(self) -> str:
        try:
            pid = self.path.read_text(encoding="ascii").strip()
        except OSError:
            return ""
        return f" (pid {pid})" if pid.isdigit() else ""
