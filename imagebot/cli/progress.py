"""Terminal niceties shared by the commands: a progress bar that appears only when work takes
long, and where caches live by default. Nothing here is shown when output is not a terminal.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from imagebot.config import cache_home

PROGRESS_AFTER_SECONDS = 1.0


def default_cache_dir() -> Path:
    """The registry metadata cache: ``$XDG_CACHE_HOME/imagebot/registry``."""
    return cache_home() / "registry"


class Progress:
    """A progress bar on a terminal, shown only once resolving takes a while."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._bar: Any = None
        self._shown = 0
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty() or time.monotonic() - self._started < PROGRESS_AFTER_SECONDS:
            return
        with self._lock:
            if self._bar is None:
                self._bar = click.progressbar(
                    length=total, label="reading creation times", file=sys.stderr
                )
                self._bar.__enter__()
            self._bar.length = max(self._bar.length, total)
            self._bar.update(done - self._shown)
            self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
