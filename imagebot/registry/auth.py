"""The registry auth flow: ``WWW-Authenticate`` challenges, Bearer tokens, Basic, token cache.

A 401 carries a challenge; for ``Bearer realm=...,service=...,scope=...`` the flow asks the realm
for a token (with Basic credentials or an identity token when it has them), caches it per host
and scope until it expires, and the request is retried once. Once a host's challenge is known,
tokens for new scopes are fetched up front, saving the 401 round trip. The HTTP exchange itself
is injected (``fetch``), so this piece is tested on its own.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import field

from imagebot.errors import RegistryAnswerError, RegistryAuthError
from imagebot.records import record
from imagebot.redact import remember
from imagebot.registry.answers import load_object
from imagebot.registry.credentials import Credentials, CredentialStore

DEFAULT_TOKEN_SECONDS = 60  # the distribution token spec's default when expires_in is absent
EXPIRY_MARGIN_SECONDS = 5  # renew a little early: the clock of the registry may be ahead
MAX_TOKEN_SECONDS = 24 * 3600  # a longer claimed lifetime only means fetching again sooner
MAX_TOKEN_CHARS = 64 * 1024
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")  # visible ASCII: it goes into a header as it is
_PARAM = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


@record
class Challenge:
    """A parsed ``WWW-Authenticate`` header: ``scheme`` in lower case and its parameters."""

    scheme: str
    params: Mapping[str, str]


def parse_challenge(header: str) -> Challenge | None:
    """``Bearer realm="r",service="s"`` -> Challenge("bearer", {...}); None when unreadable."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if match is None or match.end() == position:
            break
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare or ""
        params[match.group(1).lower()] = value
        position = match.end()
    return Challenge(scheme.lower(), params)


@record
class TokenRequest:
    """How to ask a realm for a token: GET with Basic, or POST of an OAuth2 refresh token."""

    method: str
    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    form: Mapping[str, str] | None = field(default=None, repr=False)
    basic: tuple[str, str] | None = field(default=None, repr=False)


def token_request(challenge: Challenge, scope: str, creds: Credentials | None) -> TokenRequest:
    realm = challenge.params.get("realm", "")
    if not realm.startswith(("https://", "http://")):
        raise RegistryAuthError(f"the registry's Bearer challenge has no usable realm ({realm!r})")
    service = challenge.params.get("service", "")
    if creds is not None and creds.identity_token:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": creds.identity_token,
            "service": service,
            "scope": scope,
            "client_id": "imagebot",
        }
        return TokenRequest("POST", realm, form=form)
    params = {"service": service, "scope": scope} if service else {"scope": scope}
    return TokenRequest("GET", realm, params=params, basic=creds.basic if creds else None)


@record
class Token:
    value: str = field(repr=False)
    expires_at: float


def parse_token(body: bytes, now: float) -> Token:
    """Read ``{"token"|"access_token": ..., "expires_in": ...}``; expiry on the injected clock.

    A malformed answer is a ``RegistryAnswerError``: the token server answered, wrongly, and
    asking again gets the same. The token must be visible ASCII, as a header value needs.
    """
    data = load_object(body, "the token server's answer")
    value = data.get("token") or data.get("access_token")
    if not isinstance(value, str) or not value:
        raise RegistryAnswerError("the token server's answer holds no token")
    if len(value) > MAX_TOKEN_CHARS or not _TOKEN_CHARS.fullmatch(value):
        raise RegistryAnswerError(
            "the token server's token is not a header value (too long, spaces or control "
            "characters); refused"
        )
    remember(value)  # a token is a credential too: it must never reach output
    seconds = data.get("expires_in", DEFAULT_TOKEN_SECONDS)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        seconds = DEFAULT_TOKEN_SECONDS
    lifetime = float(min(seconds, MAX_TOKEN_SECONDS))  # min first: a huge int overflows float
    return Token(value, now + max(1.0, lifetime - EXPIRY_MARGIN_SECONDS))


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


Fetch = Callable[[TokenRequest], bytes]


class AuthFlow:
    """Chooses the ``Authorization`` header for (host, scope) and learns from challenges.

    Thread-safe: repositories are scanned concurrently and share tokens per scope.
    """

    def __init__(self, credentials: CredentialStore, clock: Callable[[], float]) -> None:
        self._credentials = credentials
        self._clock = clock
        self._challenges: dict[str, Challenge] = {}
        self._tokens: dict[tuple[str, str], Token] = {}
        self._lock = threading.Lock()
        self._fetch_locks: dict[tuple[str, str], threading.Lock] = {}

    def authorization(self, host: str, scope: str, fetch: Fetch) -> str | None:
        """The header to send first: a ready token, Basic, or a token fetched up front."""
        creds = self._credentials.for_host(host)
        if creds is not None and creds.registry_token:
            return f"Bearer {creds.registry_token}"
        with self._lock:
            challenge = self._challenges.get(host)
            token = self._tokens.get((host, scope))
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            return basic_header(*creds.basic) if creds and creds.basic else None
        if token is not None and token.expires_at > self._clock():
            return f"Bearer {token.value}"
        return f"Bearer {self._fetch_token(host, scope, challenge, creds, fetch).value}"

    def on_unauthorized(self, host: str, scope: str, header: str | None, fetch: Fetch) -> bool:
        """Learn from a 401's challenge; True when a retry can present something new."""
        challenge = parse_challenge(header or "")
        if challenge is None or challenge.scheme not in ("bearer", "basic"):
            return False
        creds = self._credentials.for_host(host)
        with self._lock:
            known = self._challenges.get(host)
            self._challenges[host] = challenge
            self._tokens.pop((host, scope), None)
        if challenge.scheme == "basic":
            return creds is not None and creds.basic is not None and known != challenge
        self._fetch_token(host, scope, challenge, creds, fetch)
        return True

    def _fetch_token(
        self, host: str, scope: str, challenge: Challenge, creds: Credentials | None, fetch: Fetch
    ) -> Token:
        key = (host, scope)
        with self._lock:
            lock = self._fetch_locks.setdefault(key, threading.Lock())
        with lock:  # one fetch per scope even when many threads need it at once
            with self._lock:
                token = self._tokens.get(key)
            if token is not None and token.expires_at > self._clock():
                return token
            token = parse_token(fetch(token_request(challenge, scope, creds)), self._clock())
            with self._lock:
                self._tokens[key] = token
            return token
