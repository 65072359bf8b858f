"""One careful HTTP exchange with a registry, and the one place its failures are classified.

Every request goes through ``Transport.request``: per-host limits, the auth flow (one retry after
a challenge), redirects followed by hand so ``Authorization`` never reaches another host and a
challenge from another host is never answered with this one's credentials, bounded
bodies, a whole-exchange deadline (``deadline.py``), retries of 5xx, timeouts and resets with
backoff and jitter, and after a 429 no more requests to that host (registry, token server or
storage) until the next cycle and its ``Retry-After`` have passed, in this process and, through
``BlockStore``, in the next ones. It does not parse payloads.

Failures are classified here: ``RegistryAnswerError`` (permanent) for an answer that cannot be
used (oversized, a redirect or URL that cannot be followed); ``RegistryError`` (transient) for no
answer in time, a reset or a 5xx; ``RateLimited`` for a 429.
"""

from __future__ import annotations

import http.client
import logging
import random
import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions

from imagebot.config import RegistrySettings
from imagebot.errors import (
    RateLimited,
    RegistryAnswerError,
    RegistryAuthError,
    RegistryError,
    RegistryNotFound,
)
from imagebot.registry.auth import AuthFlow, TokenRequest, basic_header
from imagebot.registry.blocks import BlockStore
from imagebot.registry.deadline import Deadline, current, deadline
from imagebot.registry.endpoints import rate_limit_for
from imagebot.registry.limits import HostLimiter, RateLimitInfo, RequestStats, parse_rate_limit
from imagebot.registry.replies import (
    AWS_AUTH_REFUSALS,
    AWS_NOT_FOUND,
    Reply,
    aws_error_type,
    error_detail,
    failure_reason,
    host_of,
    late,
    read_bounded,
    retry_after_seconds,
    safe_url,
)

__all__ = ["Reply", "Transport", "retry_after_seconds"]

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
MAX_TOKEN_BYTES = 1 << 20
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Dropped on a redirect to another host: a login, and an AWS session token (``sigv4``).
_CREDENTIAL_HEADERS = frozenset({"authorization", "x-amz-security-token"})
# A request that cannot even be sent as the answer asks (a Location or realm that is no URL).
_UNUSABLE = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.URLRequired,
    ValueError,
)
# No answer, or an answer cut off: worth another attempt.
_NO_ANSWER = (
    requests.RequestException,
    OSError,
    http.client.HTTPException,
    urllib3.exceptions.HTTPError,
)


class _DeadlinePassed(Exception):
    """The exchange ran out of time; the caller names what was asked."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"{seconds:g} s")
        self.seconds = seconds


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
        blocks: BlockStore | None = None,
    ) -> None:
        self._settings, self._session, self._auth = settings, session, auth
        self._clock, self._sleep, self._jitter = clock, sleep, jitter
        self._store = blocks
        self.stats = RequestStats()
        self.rate_limits: dict[str, RateLimitInfo] = {}
        self._limiters: dict[str, HostLimiter] = {}
        self._blocked: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._restore()

    def begin_cycle(self) -> None:
        """Open hosts again whose ``Retry-After`` has passed (they stayed shut all last cycle),
        and shut those another process (or an earlier run) was asked to leave alone."""
        now = self._clock()
        with self._lock:
            for host, (until, _) in list(self._blocked.items()):
                if until <= now:
                    del self._blocked[host]
        self._restore()

    def _restore(self) -> None:
        if self._store is None:
            return
        now = self._clock()
        for host, seconds in self._store.load().items():
            message = (
                f"{host} asked imagebot to wait (429, remembered from an earlier run); no "
                f"requests to it until then, retry after {seconds:.0f} s"
            )
            with self._lock:
                known = self._blocked.get(host)
                if known is None or known[0] < now + seconds:
                    self._blocked[host] = (now + seconds, message)

    def adopt_blocks(self, other: Transport) -> None:
        """Keep the hosts ``other`` (a replaced transport in this process) was asked to leave
        alone: a settings change must not reopen a rate-limited host."""
        with other._lock:
            theirs = dict(other._blocked)
        with self._lock:
            for host, entry in theirs.items():
                if host not in self._blocked or self._blocked[host][0] < entry[0]:
                    self._blocked[host] = entry

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
        body: bytes | None = None,
        authenticate: bool = True,
    ) -> Reply:
        """Send one logical request; raise a classified ``RegistryError`` unless it is a 2xx.
        A ``body`` (a signed API call) is never sent on to another host by a redirect."""
        host = host_of(url)
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
                reply = self._attempt(what, kind, method, url, sent, max_bytes, body)
            except _NO_ANSWER as error:
                failures += 1
                if failures > self._settings.max_retries:
                    raise RegistryError(
                        f"{host} did not answer for {what} after {failures} attempts "
                        f"({failure_reason(error)}); is the registry reachable?"
                    ) from error
                self._backoff(failures)
                continue
            if reply.status == 401 and host_of(reply.url) != host:
                # Credentials belong to the host they are configured for; a challenge from the
                # host a redirect led to is answered with nothing, so it is an auth failure.
                raise RegistryAuthError(
                    f"{host} redirected {what} to {host_of(reply.url)}, which asks for "
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

    def _attempt(  # noqa: PLR0917 - private, one caller
        self,
        what: str,
        kind: str,
        method: str,
        url: str,
        sent: dict[str, str],
        max_bytes: int,
        body: bytes | None,
    ) -> Reply:
        """``_send``, with its failures that are final named after what was asked."""
        try:
            return self._send(kind, method, url, sent, max_bytes, form=body)
        except _DeadlinePassed as passed:
            raise late(host_of(url), what, passed.seconds) from None
        except RegistryAnswerError as error:
            raise RegistryAnswerError(f"{what}: {error}") from error

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
        form: Mapping[str, str] | bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Reply:
        """One exchange, its redirects included, within one deadline that starts once the first
        host's limiter lets it go (waiting for a turn is not the registry's slowness)."""
        with ExitStack() as stack:
            try:
                return self._exchange(kind, method, url, headers, max_bytes, form, params, stack)
            except (*_UNUSABLE, *_NO_ANSWER) as error:
                bound = current()
                if bound is not None and bound.passed():
                    raise _DeadlinePassed(bound.seconds) from error
                if isinstance(error, _UNUSABLE):
                    raise RegistryAnswerError(
                        f"{host_of(url)}: the request cannot be made as the answers ask "
                        f"({failure_reason(error)}); refused"
                    ) from error
                raise

    def _exchange(  # noqa: PLR0917 - private, one caller
        self,
        kind: str,
        method: str,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        form: Mapping[str, str] | bytes | None,
        params: Mapping[str, str] | None,
        stack: ExitStack,
    ) -> Reply:
        origin = host_of(url)
        bound: Deadline | None = None
        for _ in range(MAX_REDIRECTS + 1):
            host = host_of(url)
            blocked = self.blocked(host)
            if blocked:
                raise RateLimited(blocked)
            with self._limiter(host).slot():
                if bound is None:
                    bound = stack.enter_context(deadline(self._settings.timeout_seconds))
                try:
                    response = self._request(method, url, headers, form, params, bound)
                except _NO_ANSWER:
                    self.stats.record(kind, host, 0)
                    raise
                try:
                    self.stats.record(kind, host, response.status_code)
                    log.debug("%s %s -> %d", method, safe_url(url), response.status_code)
                    quota = parse_rate_limit(response.headers)
                    if quota is not None:
                        with self._lock:
                            self.rate_limits[host] = quota
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECTS and location:
                        target = urljoin(response.url or url, location)
                        if form is not None and response.status_code != 303:
                            _refuse_form_redirect(origin, target, signed=isinstance(form, bytes))
                        url = self._redirect(url, target, origin, headers)
                        params = None
                        if response.status_code == 303:
                            method, form = "GET", None
                        continue
                    body = b"" if method == "HEAD" else read_bounded(response, max_bytes, host)
                    if bound.passed():  # a session without DeadlineAdapter cannot be cut off
                        raise _DeadlinePassed(bound.seconds)
                    return Reply(response.status_code, response.headers, body, url)
                finally:
                    response.close()
        raise RegistryError(f"{origin} redirected more than {MAX_REDIRECTS} times; giving up")

    def _request(  # noqa: PLR0917 - private, one caller
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        form: Mapping[str, str] | bytes | None,
        params: Mapping[str, str] | None,
        bound: Deadline,
    ) -> requests.Response:
        left = bound.remaining()
        if left <= 0:
            raise _DeadlinePassed(bound.seconds)
        # Prepared here rather than by ``Session.request``, which would add ~/.netrc's login for
        # the host (over a registry token, and to any host a redirect names) and the session's
        # cookies: a registry gets only what imagebot was given, as from docker or containerd.
        # It also spends a quarter of a tag list's CPU merging jars and settings.
        session = self._session
        sent = requests.Request(
            method, url, headers={**session.headers, **headers}, data=form, params=params
        ).prepare()
        settings = session.merge_environment_settings(sent.url, {}, True, None, None)
        return session.send(
            sent,
            timeout=min(self._settings.timeout_seconds, left),
            allow_redirects=False,
            **settings,
        )

    @staticmethod
    def _redirect(url: str, target: str, origin: str, headers: dict[str, str]) -> str:
        if urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https":
            raise RegistryError(f"{origin} redirected from HTTPS to plain HTTP; refused")
        if host_of(target) != origin:
            # Blob storage (S3, a CDN) must never see the registry's credentials.
            for name in [n for n in headers if n.lower() in _CREDENTIAL_HEADERS]:
                del headers[name]
        return target

    def _fetch_token(self, request: TokenRequest) -> bytes:
        headers = {"Accept": "application/json"}
        if request.basic:
            headers["Authorization"] = basic_header(*request.basic)
        host = host_of(request.url)
        try:
            reply = self._send(
                "token",
                request.method,
                request.url,
                headers,
                MAX_TOKEN_BYTES,
                form=request.form,
                params=request.params,
            )
        except _DeadlinePassed as passed:
            raise late(host, "a token", passed.seconds) from None
        except _NO_ANSWER as error:
            raise RegistryError(
                f"token server {host} did not answer ({failure_reason(error)})"
            ) from error
        if reply.status in (401, 403):
            raise RegistryAuthError(
                f"token server {host} refused the credentials ({reply.status}); "
                f"check the username and password configured for this registry"
            )
        if reply.status == 429:
            raise self._classify(reply, host, "a token")
        if not 200 <= reply.status < 300:
            raise RegistryError(
                f"token server {host} answered {reply.status}: {error_detail(reply)}"
            )
        return reply.body

    def _classify(self, reply: Reply, host: str, what: str) -> RegistryError:
        detail = error_detail(reply)
        aws = aws_error_type(reply) if reply.status == 400 else None
        if reply.status in (401, 403) or aws in AWS_AUTH_REFUSALS:
            return RegistryAuthError(
                f"{host} refused access to {what} ({reply.status}, {detail}); check the "
                f"credentials for {host} in the docker config or the registry settings"
            )
        if reply.status == 404 or aws in AWS_NOT_FOUND:
            return RegistryNotFound(f"{what} not found on {host} ({reply.status}, {detail})")
        if reply.status == 429:
            wait = retry_after_seconds(reply.headers.get("retry-after"))
            message = (
                f"{host} is rate limiting imagebot (429); no more requests to it until then, "
                f"retry after {wait:.0f} s"
            )
            with self._lock:
                self._blocked[host] = (self._clock() + wait, message)
            if self._store is not None:
                self._store.block(host, wait)
            log.warning("%s", message)
            return RateLimited(message, retry_after=wait)
        return RegistryError(f"{host} answered {reply.status} for {what} ({detail})")


def _refuse_form_redirect(origin: str, target: str, *, signed: bool = False) -> None:
    """A form carries a refresh token: it may be sent again only to the host it was meant for;
    a signed body (ECR's API) is signed for its host alone."""
    if host_of(target) != origin and signed:
        raise RegistryAuthError(
            f"{origin} redirected a signed API request to {host_of(target)}; refused, the "
            f"request and its signature are sent only to {origin}"
        )
    if host_of(target) != origin:
        raise RegistryAuthError(
            f"token server {origin} redirected a token request to {host_of(target)}; refused, "
            f"the identity token is sent only to {origin}"
        )
