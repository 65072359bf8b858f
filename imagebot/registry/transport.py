"""One careful HTTP exchange with a registry, and the one place its failures are classified.

Every request goes through ``Transport.request``: per-host limits, the auth flow (one retry after
a challenge), redirects followed by hand so ``Authorization`` never reaches another host and a
challenge from another host is never answered with this one's credentials, bounded
bodies, retries of 5xx and timeouts with backoff and jitter, and after a 429 no more requests to
that host until the next cycle (and its ``Retry-After``) has passed. It does not parse payloads.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests

from imagebot.config import RegistrySettings
from imagebot.errors import RateLimited, RegistryAuthError, RegistryError, RegistryNotFound
from imagebot.registry.auth import AuthFlow, TokenRequest, basic_header
from imagebot.registry.endpoints import rate_limit_for
from imagebot.registry.limits import HostLimiter, RateLimitInfo, RequestStats, parse_rate_limit

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
DEFAULT_RETRY_AFTER_SECONDS = 60.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    url: str


def _host(url: str) -> str:
    return urlsplit(url).netloc.lower()


def _safe_url(url: str) -> str:
    """The URL without its query: presigned storage URLs carry signatures there."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float:
    """``Retry-After`` as seconds or an HTTP date; a missing or odd value means a minute."""
    if not value:
        return DEFAULT_RETRY_AFTER_SECONDS
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_SECONDS
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_detail(reply: Reply) -> str:
    """A short, safe description of an error body: the registry's error codes, or its kind."""
    content_type = reply.headers.get("content-type", "")
    text = reply.body[:4096].decode("utf-8", "replace")
    if "html" in content_type or text.lstrip().lower().startswith(("<!doctype", "<html")):
        return "an HTML page instead of a registry answer (a proxy or login page?)"
    try:
        errors = json.loads(text).get("errors")
        first = errors[0]
        return f"{first.get('code', '?')}: {str(first.get('message', ''))[:160]}"
    except (ValueError, AttributeError, IndexError, TypeError, KeyError):
        return "no registry error details"


class Transport:
    """HTTP to registries with limits, auth, retries and accounting. Thread-safe."""

    def __init__(
        self,
        settings: RegistrySettings,
        session: requests.Session,
        auth: AuthFlow,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._settings, self._session, self._auth = settings, session, auth
        self._clock, self._sleep, self._jitter = clock, sleep, jitter
        self.stats = RequestStats()
        self.rate_limits: dict[str, RateLimitInfo] = {}
        self._limiters: dict[str, HostLimiter] = {}
        self._blocked: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def begin_cycle(self) -> None:
        """Open hosts again whose ``Retry-After`` has passed (they stayed shut all last cycle)."""
        now = self._clock()
        with self._lock:
            for host, (until, _) in list(self._blocked.items()):
                if until <= now:
                    del self._blocked[host]

    def blocked(self, host: str) -> str | None:
        with self._lock:
            entry = self._blocked.get(host)
        return entry[1] if entry else None

    def request(
        self,
        kind: str,
        url: str,
        *,
        what: str,
        scope: str,
        max_bytes: int,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        authenticate: bool = True,
    ) -> Reply:
        """Send one logical request; raise a classified ``RegistryError`` unless it is a 2xx."""
        host = _host(url)
        authorised_once = False
        failures = 0
        while True:
            blocked = self.blocked(host)
            if blocked:
                raise RateLimited(blocked)
            sent = dict(headers or {})
            if authenticate:
                header = self._auth.authorization(host, scope, self._fetch_token)
                if header:
                    sent["Authorization"] = header
            try:
                reply = self._send(kind, method, url, sent, max_bytes)
            except (requests.Timeout, requests.ConnectionError) as error:
                failures += 1
                if failures > self._settings.max_retries:
                    raise RegistryError(
                        f"{host} did not answer for {what} after {failures} attempts "
                        f"({type(error).__name__}); is the registry reachable?"
                    ) from error
                self._backoff(failures)
                continue
            if reply.status == 401 and _host(reply.url) != host:
                # Credentials belong to the host they are configured for; a challenge from the
                # host a redirect led to is answered with nothing, so it is an auth failure.
                raise RegistryAuthError(
                    f"{host} redirected {what} to {_host(reply.url)}, which asks for "
                    f"credentials; imagebot sends {host}'s credentials only to {host} and "
                    f"its token server, so configure the registry to serve without that redirect"
                )
            if reply.status == 401 and authenticate and not authorised_once:
                authorised_once = True
                challenge = reply.headers.get("www-authenticate")
                if self._auth.on_unauthorized(host, scope, challenge, self._fetch_token):
                    continue
            if reply.status >= 500 and failures < self._settings.max_retries:
                failures += 1
                self._backoff(failures)
                continue
            if 200 <= reply.status < 300:
                return reply
            raise self._classify(reply, host, what)

    def _backoff(self, failures: int) -> None:
        self._sleep(min(30.0, 0.5 * 2 ** (failures - 1)) * (0.5 + self._jitter()))

    def _limiter(self, host: str) -> HostLimiter:
        with self._lock:
            limiter = self._limiters.get(host)
            if limiter is None:
                limit = rate_limit_for(self._settings, host)
                limiter = self._limiters[host] = HostLimiter(limit, self._clock, self._sleep)
            return limiter

    def _send(  # noqa: PLR0917 - private; every caller names the optional ones
        self,
        kind: str,
        method: str,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        form: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Reply:
        origin = _host(url)
        for _ in range(MAX_REDIRECTS + 1):
            host = _host(url)
            with self._limiter(host).slot():
                try:
                    response = self._request(method, url, headers, form, params)
                except requests.RequestException:
                    self.stats.record(kind, host, 0)
                    raise
                try:
                    self.stats.record(kind, host, response.status_code)
                    log.debug("%s %s -> %d", method, _safe_url(url), response.status_code)
                    quota = parse_rate_limit(response.headers)
                    if quota is not None:
                        with self._lock:
                            self.rate_limits[host] = quota
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECTS and location:
                        target = urljoin(response.url or url, location)
                        if form is not None and response.status_code != 303:
                            _refuse_form_redirect(origin, target)
                        url = self._redirect(url, target, origin, headers)
                        params = None
                        if response.status_code == 303:
                            method, form = "GET", None
                        continue
                    body = b"" if method == "HEAD" else _read_bounded(response, max_bytes, host)
                    return Reply(response.status_code, response.headers, body, url)
                finally:
                    response.close()
        raise RegistryError(f"{origin} redirected more than {MAX_REDIRECTS} times; giving up")

    def _request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        form: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
    ) -> requests.Response:
        return self._session.request(
            method,
            url,
            headers=headers,
            data=form,
            params=params,
            timeout=self._settings.timeout_seconds,
            allow_redirects=False,
            stream=True,
        )

    @staticmethod
    def _redirect(url: str, target: str, origin: str, headers: dict[str, str]) -> str:
        if urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https":
            raise RegistryError(f"{origin} redirected from HTTPS to plain HTTP; refused")
        if _host(target) != origin:
            # Blob storage (S3, a CDN) must never see the registry's credentials.
            headers.pop("Authorization", None)
        return target

    def _fetch_token(self, request: TokenRequest) -> bytes:
        headers = {"Accept": "application/json"}
        if request.basic:
            headers["Authorization"] = basic_header(*request.basic)
        host = _host(request.url)
        try:
            reply = self._send(
                "token",
                request.method,
                request.url,
                headers,
                1 << 20,
                form=request.form,
                params=request.params,
            )
        except (requests.Timeout, requests.ConnectionError) as error:
            raise RegistryError(
                f"token server {host} did not answer ({type(error).__name__})"
            ) from error
        if reply.status in (401, 403):
            raise RegistryAuthError(
                f"token server {host} refused the credentials ({reply.status}); "
                f"check the username and password configured for this registry"
            )
        if not 200 <= reply.status < 300:
            raise RegistryError(
                f"token server {host} answered {reply.status}: {error_detail(reply)}"
            )
        return reply.body

    def _classify(self, reply: Reply, host: str, what: str) -> RegistryError:
        detail = error_detail(reply)
        if reply.status in (401, 403):
            return RegistryAuthError(
                f"{host} refused access to {what} ({reply.status}, {detail}); check the "
                f"credentials for {host} in the docker config or the registry settings"
            )
        if reply.status == 404:
            return RegistryNotFound(f"{what} not found on {host} (404, {detail})")
        if reply.status == 429:
            wait = retry_after_seconds(reply.headers.get("retry-after"))
            message = (
                f"{host} is rate limiting imagebot (429); no more requests to it until then, "
                f"retry after {wait:.0f} s"
            )
            with self._lock:
                self._blocked[host] = (self._clock() + wait, message)
            log.warning("%s", message)
            return RateLimited(message, retry_after=wait)
        return RegistryError(f"{host} answered {reply.status} for {what} ({detail})")


def _refuse_form_redirect(origin: str, target: str) -> None:
    """A form carries a refresh token: it may be sent again only to the host it was meant for."""
    if _host(target) != origin:
        raise RegistryAuthError(
            f"token server {origin} redirected a token request to {_host(target)}; refused, "
            f"the identity token is sent only to {origin}"
        )


def _read_bounded(response: requests.Response, max_bytes: int, host: str) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise RegistryError(f"{host} announced {declared} bytes, over the {max_bytes} byte bound")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise RegistryError(f"{host} sent more than {max_bytes} bytes; refused")
        chunks.append(chunk)
    return b"".join(chunks)
