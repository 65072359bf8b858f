"""Tag-list answers shared by every automation of one operator: one list per repository and
credential per interval, however many automations name the repository.

Without it each automation's client lists every repository it names, so 50 automations naming
the same 20 repositories list each one 50 times per interval (Flux v2 shares one ImageRepository
scan between all its policies). A ``SharedAnswers`` sits under every client of the process:

- An answer is keyed by what was asked (the listing URL and the listing bounds) and by a
  fingerprint of who asked: the login the asker would present to that host and the host's
  settings (insecure, mirror). Anonymous askers share anonymous answers; an answer fetched with
  a login reaches only askers that would present the very same login, so access control stays
  the registry's. The fingerprint is a keyed hash with a key drawn per process: a key in a log
  or a dump says nothing about the secret and cannot be tried against guesses.
- An asker takes an answer younger than its ``Freshness.max_age`` (its interval) and, for
  repositories a webhook or a request named, fetched after that request. An answer's age counts
  from the start of the cycle that fetched it: the timer starts an automation's next cycle an
  interval after its last one began, so its own answer is never young enough to stand in for
  the next, and a repository is listed about once per shortest interval asking for it.
  Concurrent askers of one key wait for the one request in flight.
- Failures are never kept: a refusal or fault reaches only the askers waiting on that very
  request (same key, hence same login); the next asker tries again itself. A 429 with a
  Retry-After shuts the host for every asker until then: the limit is the host's, not a login's.
- Memory is bounded: at most ``max_entries`` answers and ``max_tags`` tags across them, least
  recently used dropped first, and an answer older than the longest age any asker accepts is
  dropped as useless.

Manifests and config blobs are not shared here: the clients' metadata caches stay one per
namespace (see ``imagebot.controller.registries``). It decides nothing about policies.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from typing import TypeVar, cast

from imagebot.config import RegistryHost, RegistrySettings
from imagebot.errors import RateLimited
from imagebot.records import record
from imagebot.registry.credentials import CredentialStore
from imagebot.registry.endpoints import Endpoint, host_settings

A = TypeVar("A")
MAX_ENTRIES = 4096
MAX_TAGS = 1_000_000
"""Tags kept across all answers (each up to ``maxTags`` long): some 100 MB at worst."""


@record
class Freshness:
    """Which answers an asker takes: younger than ``max_age`` seconds and, for the repositories
    in ``refresh`` (``None``: all of them), fetched no earlier than ``not_before`` (wall clock,
    the time a webhook or a user asked for a fresh look). ``clock`` is the asker's wall clock
    (the operator's, injected in tests); ``started``, when its cycle began by that clock, stamps
    the answers it fetches (``None``: the time of the request)."""

    max_age: float = 0.0
    not_before: float = 0.0
    refresh: frozenset[str] | None = frozenset()
    clock: Callable[[], float] = time.time
    started: float | None = None

    def accepts(self, repository: str, fetched_at: float, now: float) -> bool:
        if now - fetched_at >= self.max_age:
            return False
        named = self.refresh is None or repository in self.refresh
        return not named or fetched_at >= self.not_before


@record
class AnswerKey:
    """What was asked (``kind``, ``url``, ``bounds``) of which repository, by which login."""

    kind: str
    host: str
    repository: str
    url: str
    bounds: tuple[int, ...]
    credential: str = field(repr=False)


@dataclass(slots=True)
class _Entry:
    fetched_at: float
    value: object
    weight: int = 1


@dataclass(slots=True)
class _Flight:
    started: float
    done: threading.Event = field(default_factory=threading.Event)
    value: object = None
    error: Exception | None = None
    answered: bool = False


class SharedAnswers:
    """The process's answers by key; thread-safe (cycles ask from worker threads)."""

    def __init__(self, *, max_entries: int = MAX_ENTRIES, max_tags: int = MAX_TAGS) -> None:
        self._max, self._max_weight = max(1, max_entries), max(1, max_tags)
        self._weight = 0
        self._salt = secrets.token_bytes(32)
        self._entries: OrderedDict[AnswerKey, _Entry] = OrderedDict()
        self._flights: dict[AnswerKey, _Flight] = {}
        self._blocked: dict[str, tuple[float, str]] = {}
        self._longest = 0.0
        self._lock = threading.Lock()
        self.fetched = 0
        self.reused = 0

    def key(
        self,
        kind: str,
        endpoint: Endpoint,
        url: str,
        settings: RegistrySettings,
        credentials: CredentialStore | None,
    ) -> AnswerKey:
        """The key of a listing ``url`` of ``endpoint`` as this asker would fetch it:
        ``credentials`` None means the request goes out without a login (the Hub API)."""
        login = credentials.for_host(endpoint.host) if credentials is not None else None
        material = repr(
            (
                [astuple(e) if e else None for e in _entries(settings, endpoint)],
                astuple(login) if login is not None else None,
            )
        )
        anonymous = login is None and not any(_entries(settings, endpoint))
        digest = hashlib.blake2b(material.encode(), key=self._salt, digest_size=16).hexdigest()
        bounds = (settings.max_tags, settings.max_tag_pages)
        credential = "anonymous" if anonymous else digest
        return AnswerKey(kind, endpoint.host, endpoint.name, url, bounds, credential)

    def get(
        self,
        key: AnswerKey,
        freshness: Freshness,
        fetch: Callable[[], A],
        fits: Callable[[A], bool] = lambda _: True,
        weigh: Callable[[A], int] = lambda _: 1,
    ) -> A:
        """A kept answer this asker takes and that ``fits`` its question, the answer of a
        request in flight for ``key``, or ``fetch()``'s (then kept for the next asker, counted
        as ``weigh`` of it against the store's bound on tags)."""
        while True:
            with self._lock:
                now = freshness.clock()
                self._longest = max(self._longest, freshness.max_age)
                shut = self._blocked.get(key.host)
                if shut is not None and shut[0] > now:
                    raise RateLimited(shut[1], retry_after=shut[0] - now)
                entry = self._entries.get(key)
                if (
                    entry is not None
                    and freshness.accepts(key.repository, entry.fetched_at, now)
                    and fits(cast("A", entry.value))
                ):
                    self._entries.move_to_end(key)
                    self.reused += 1
                    return cast("A", entry.value)
                flight = self._flights.get(key)
                mine = flight is None
                if flight is None:
                    flight = self._flights[key] = _Flight(now)
            if mine:
                return self._fly(key, flight, fetch, freshness, weigh)
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            value = cast("A", flight.value)
            if flight.answered and fits(value):
                with self._lock:
                    self.reused += 1
                return value
            # Another asker's question (a Hub list cut short), or a fetch cut off by something
            # no answer says (an interrupt): ask again, this time ourselves.

    def _fly(
        self,
        key: AnswerKey,
        flight: _Flight,
        fetch: Callable[[], A],
        freshness: Freshness,
        weigh: Callable[[A], int],
    ) -> A:
        try:
            value = fetch()
        except RateLimited as error:
            if error.retry_after:
                with self._lock:
                    until = flight.started + error.retry_after
                    if until > self._blocked.get(key.host, (0.0, ""))[0]:
                        self._blocked[key.host] = (until, str(error))
            flight.error = error
            raise
        except Exception as error:
            flight.error = error
            raise
        else:
            flight.value, flight.answered = value, True
            with self._lock:
                self.fetched += 1
                stamp = flight.started if freshness.started is None else freshness.started
                self._drop(key)
                entry = self._entries[key] = _Entry(min(stamp, flight.started), value, weigh(value))
                self._weight += entry.weight
                self._prune(freshness.clock())
            return value
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def _prune(self, now: float) -> None:
        """Drop answers no asker would take any more, then the least recently used past the
        bound. Called with the lock held."""
        for key in [k for k, e in self._entries.items() if now - e.fetched_at >= self._longest]:
            self._drop(key)
        while len(self._entries) > self._max or (
            self._weight > self._max_weight and len(self._entries) > 1
        ):
            self._drop(next(iter(self._entries)))
        for host in [h for h, (until, _) in self._blocked.items() if until <= now]:
            del self._blocked[host]

    def _drop(self, key: AnswerKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._weight -= entry.weight

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _entries(settings: RegistrySettings, endpoint: Endpoint) -> list[RegistryHost | None]:
    """The host entries that shape a request to ``endpoint``: its registry's and its mirror's."""
    found = [host_settings(settings, endpoint.registry)]
    if endpoint.host != endpoint.registry:
        found.append(host_settings(settings, endpoint.host))
    return found
