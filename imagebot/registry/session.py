"""What the registry client's threads share besides the transport: a ``requests`` session that
reads the environment once per origin, and the progress count of creation-time fetches.

No registry logic here: the client (``client.py``) builds and uses them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

Progress = Callable[[int, int], None]
"""Told (done, total) as creation times are fetched: the CLI draws a progress bar."""


class ProcessSession(requests.Session):
    """A session that reads proxy and CA-bundle variables once per origin, not per request.

    requests looks them up on every request by scanning all of ``os.environ`` twice (a third of
    the CPU a tag list costs); they depend only on the scheme and host, and a process's
    environment does not change under it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._by_origin: dict[tuple[object, ...], Any] = {}

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        if proxies or not self.trust_env or not isinstance(url, str):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        key = (*urlsplit(url)[:2], stream, verify, cert)
        found = self._by_origin.get(key)
        if found is None:
            found = super().merge_environment_settings(url, {}, stream, verify, cert)
            self._by_origin[key] = found
        return {**found, "proxies": dict(found["proxies"])}


class ProgressCounter:
    """Progress over creation-time fetches, for a progress bar on a terminal."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress, self._done, self._total = progress, 0, 0
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self._total += count

    def done(self) -> None:
        if self._progress is None:
            return
        with self._lock:
            self._done += 1
            done, total = self._done, self._total
        self._progress(done, total)
