"""The ``requests.Session`` the registry client builds for itself when none is injected.

It only remembers proxy and CA-bundle settings per origin; deadlines, retries and auth are
``deadline``'s and ``transport``'s.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests


class Session(requests.Session):
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
