"""The rig's own registry HTTP client: plain, Basic or the Bearer token challenge flow.

Used by the image pusher to write to the auth registries. It is deliberately separate from
imagebot.registry (the code under test) so the rig never tests imagebot with imagebot.
"""

from __future__ import annotations

import base64
import re
import threading
from typing import Any

import requests

_PARAM = re.compile(r'(\w+)="([^"]*)"')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="...",service="...",scope="..."` -> ("bearer", {realm, service, scope})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(_PARAM.findall(rest))


class RegistryClient:
    """Sends requests to one registry, answering 401 challenges with the credentials it holds.

    Authenticated callers ask the token server for pull,push,delete on the repository at once, so
    one token per repository serves every later request; anonymous callers ask for what the
    registry's challenge names.
    """

    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.credentials = credentials
        self._tokens: dict[str, str] = {}
        self._basic = False
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        url_or_path: str,
        *,
        repo: str,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send once; on a 401 challenge, authenticate and send once more. Raises on 4xx/5xx."""
        url = url_or_path if "://" in url_or_path else self.base_url + url_or_path
        kwargs.setdefault("timeout", 30)
        for attempt in range(2):
            sent = {**(headers or {}), **self._auth_header(repo)}
            response = self.session.request(method, url, headers=sent, **kwargs)
            challenge = response.headers.get("WWW-Authenticate", "")
            if attempt or response.status_code != 401 or not self._answer(challenge, repo):
                break
        response.raise_for_status()
        return response

    def _auth_header(self, repo: str) -> dict[str, str]:
        with self._lock:
            token = self._tokens.get(repo)
        if token:
            return {"Authorization": f"Bearer {token}"}
        if self.credentials and self._basic:
            pair = base64.b64encode(":".join(self.credentials).encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        return {}

    def _answer(self, challenge: str, repo: str) -> bool:
        """Prepare credentials for the retry; False when there is nothing new to offer."""
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            if not self.credentials or self._basic:
                return False
            self._basic = True
            return True
        if scheme != "bearer" or "realm" not in params:
            return False
        scope = params.get("scope", "")
        if self.credentials and scope.startswith("repository:"):
            scope = f"repository:{repo}:pull,push,delete"
        query = {"service": params.get("service", ""), "scope": scope}
        auth = self.credentials if self.credentials else None
        got = self.session.get(params["realm"], params=query, auth=auth, timeout=30)
        got.raise_for_status()
        body = got.json()
        token = body.get("token") or body.get("access_token")
        with self._lock:
            if not token or self._tokens.get(repo) == token:
                return False
            self._tokens[repo] = str(token)
        return True
