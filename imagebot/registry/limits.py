"""Per-host budgets and bookkeeping: concurrency, request rate, request counters, quota headers.

``HostLimiter`` spaces requests to one host on an injected clock and sleep (so tests never really
sleep) and bounds how many run at once. ``RequestStats`` counts every request by kind, host and
status; ``parse_rate_limit`` reads Docker Hub's ``ratelimit-*`` headers. No HTTP here.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from imagebot.config import RateLimit
from imagebot.records import record

KINDS = ("list", "head", "manifest", "blob", "token", "hub", "api")


class HostLimiter:
    """At most ``max_concurrency`` requests in flight and ``requests_per_second`` started, after
    an initial ``burst`` (GCRA: each start books the next slot on an even schedule, and may run up
    to ``burst - 1`` slots ahead of it)."""

    def __init__(
        self, limit: RateLimit, clock: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        self._slots = threading.BoundedSemaphore(max(1, limit.max_concurrency))
        self._interval = 1.0 / limit.requests_per_second if limit.requests_per_second > 0 else 0.0
        self._ahead = max(0, limit.burst - 1) * self._interval
        self._clock, self._sleep = clock, sleep
        self._next_start = 0.0
        self._lock = threading.Lock()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._slots:
            if self._interval:
                with self._lock:  # reserve a start time, then wait for it outside the lock
                    now = self._clock()
                    slot = max(now, self._next_start)
                    self._next_start = slot + self._interval
                    start = slot - self._ahead
                if start > now:
                    self._sleep(start - now)
            yield


@record
class RateLimitInfo:
    """A registry's announced quota, e.g. Docker Hub's ``100;w=21600``."""

    limit: int | None
    remaining: int | None
    window_seconds: int | None


_QUOTA = re.compile(r"\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?")


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimitInfo | None:
    """Read ``ratelimit-limit`` / ``ratelimit-remaining``; None when neither is present."""
    limit = _QUOTA.match(headers.get("ratelimit-limit", ""))
    remaining = _QUOTA.match(headers.get("ratelimit-remaining", ""))
    if limit is None and remaining is None:
        return None
    window = (limit.group(2) if limit else None) or (remaining.group(2) if remaining else None)
    return RateLimitInfo(
        limit=int(limit.group(1)) if limit else None,
        remaining=int(remaining.group(1)) if remaining else None,
        window_seconds=int(window) if window else None,
    )


class RequestStats(Mapping[str, int]):
    """Requests made, as a mapping of kind -> count (``list``, ``head``, ``manifest``, ``blob``,
    ``token``, ``hub``); ``by_status()`` and ``detailed()`` break them down further."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, int]] = Counter()
        self._lock = threading.Lock()

    def record(self, kind: str, host: str, status: int) -> None:
        """Count one request; status 0 means no answer (timeout, connection refused)."""
        with self._lock:
            self._counts[(kind, host, status)] += 1

    def detailed(self) -> dict[tuple[str, str, int], int]:
        with self._lock:
            return dict(self._counts)

    def since(self, snapshot: Mapping[tuple[str, str, int], int]) -> RequestStats:
        """The requests counted after ``snapshot`` (an earlier ``detailed()``): one cycle's share
        of a client that is kept across cycles."""
        later = RequestStats()
        for key, count in self.detailed().items():
            if count > snapshot.get(key, 0):
                later._counts[key] = count - snapshot.get(key, 0)
        return later

    def by_kind(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for (kind, _, _), count in self.detailed().items():
            totals[kind] += count
        return dict(totals)

    def by_status(self) -> dict[int, int]:
        totals: Counter[int] = Counter()
        for (_, _, status), count in self.detailed().items():
            totals[status] += count
        return dict(totals)

    @property
    def total(self) -> int:
        return sum(self.detailed().values())

    def __getitem__(self, kind: str) -> int:
        return self.by_kind()[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_kind())

    def __len__(self) -> int:
        return len(self.by_kind())

    def __repr__(self) -> str:
        return f"RequestStats({self.by_kind()!r})"
