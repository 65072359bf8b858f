"""Hosts a 429 shut, kept on disk so the next process waits out the Retry-After too.

One small JSON file under the registry cache directory maps host -> the wall-clock time until
which it asked to be left alone, and nothing else (tokens live in memory only). The file is the
user's but anything may have written it: it is read without following symlinks, only when it is
a regular file of bounded size, and anything odd in it means it is ignored with a warning. Waits
are capped, so no file can shut a host for longer than ``MAX_BLOCK_SECONDS``. Written atomically
with mode 0600. The transport decides when a host is blocked; this only remembers.
"""

from __future__ import annotations

import json
import logging
import math
import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "retry-after.json"
MAX_FILE_BYTES = 64 * 1024
MAX_HOSTS = 256
MAX_BLOCK_SECONDS = 24 * 3600.0  # a longer Retry-After is read as a day


class BlockStore:
    """host -> blocked-until (wall clock, seconds since the epoch), shared between processes."""

    def __init__(self, directory: str | os.PathLike[str] | None, wall: Callable[[], float]) -> None:
        self.path = Path(directory) / FILE_NAME if directory is not None else None
        self._wall = wall
        self._warned = False
        self._mine: dict[str, float] = {}  # what this store wrote: its owner knows it already

    def load(self) -> dict[str, float]:
        """host -> seconds it stays blocked from now, as other processes (or earlier runs) wrote
        it; empty (one warning) when the file is unusable. Blocks this store wrote itself are
        left out: its owner keeps them in memory, on the clock it was given."""
        now = self._wall()
        return {
            host: until - now
            for host, until in self._load(now).items()
            if until > self._mine.get(host, 0.0)
        }

    def _load(self, now: float) -> dict[str, float]:
        """host -> blocked-until for the hosts still blocked at ``now``, capped at a day."""
        if self.path is None:
            return {}
        try:
            data = self._read(self.path)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError, OverflowError) as error:
            self._warn(str(error))
            return {}
        return {
            host: min(until, now + MAX_BLOCK_SECONDS) for host, until in data.items() if until > now
        }

    def block(self, host: str, seconds: float) -> None:
        """Remember that ``host`` is shut for ``seconds`` from now; keeps what other processes
        wrote (the later time wins)."""
        if self.path is None:
            return
        now = self._wall()
        blocks = self._load(now)
        until = now + min(max(0.0, seconds), MAX_BLOCK_SECONDS)
        blocks[host] = max(blocks.get(host, 0.0), until)
        self._mine[host] = blocks[host]
        newest = sorted(blocks.items(), key=lambda item: item[1], reverse=True)[:MAX_HOSTS]
        try:
            self._write(self.path, dict(newest))
        except OSError as error:
            log.warning("could not remember Retry-After in %s: %s", self.path, error)

    def _read(self, path: Path) -> dict[str, float]:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path, flags)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise ValueError("not a regular file")
            with os.fdopen(fd, "rb", closefd=False) as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
        if len(raw) > MAX_FILE_BYTES:
            raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
        return _parse(json.loads(raw))

    def _write(self, path: Path, blocks: Mapping[str, float]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".retry-after-", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"hosts": blocks}, handle, sort_keys=True)
            Path(temporary).replace(path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _warn(self, reason: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "ignoring %s (%s); Retry-After from earlier runs is forgotten", self.path, reason
            )


def _parse(data: object) -> dict[str, float]:
    hosts = data.get("hosts") if isinstance(data, dict) else None
    if not isinstance(hosts, dict) or len(hosts) > MAX_HOSTS:
        raise ValueError("not a map of at most 256 hosts")
    found: dict[str, float] = {}
    for host, until in hosts.items():
        if not isinstance(host, str) or not 0 < len(host) <= 300 or not host.isprintable():
            raise ValueError(f"{str(host)[:40]!r} is not a host name")
        if isinstance(until, bool) or not isinstance(until, int | float):
            raise ValueError(f"the time for {host!r} is not a number")
        if not math.isfinite(until):
            raise ValueError(f"the time for {host!r} is not finite")
        found[host] = float(until)
    return found
