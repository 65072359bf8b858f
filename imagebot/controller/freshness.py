"""Which shared registry answers a cycle takes, and how a request for a fresh look is written.

The ``imagebot.io/reconcile-at`` annotation asks for a cycle now. Written by hand (any value,
usually a time), it asks for every repository of that automation afresh, as of that time when
it is one (else as of now). Written by the webhook receiver, it is ``<time> <repository>...``:
only the repositories the registry said were pushed are listed afresh, once for every
automation naming them (the first cycle lists, the others take that answer, fetched after the
time), while the rest keep their answers from this interval. The annotation carries this, not
the receiving replica's memory, because the receiver and the replica that runs the cycles may
be different pods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from imagebot.registry.fleet import Freshness


def request_value(at: datetime, repositories: Iterable[str]) -> str:
    """The annotation value a webhook writes: its time, then the pushed repositories."""
    return " ".join([at.isoformat(), *sorted(set(repositories))])


def cycle_freshness(
    interval_seconds: float,
    requested: str | None,
    clock: Callable[[], datetime],
    started: datetime,
) -> Freshness:
    """What a cycle that began at ``started`` takes: answers younger than its interval, and for
    a requested cycle none from before the request (at the latest now: a time in the future is
    no reason to list on every cycle). ``clock`` is the controller's."""

    def wall() -> float:
        return clock().timestamp()

    now, began = wall(), started.timestamp()
    if requested is None:
        return Freshness(interval_seconds, clock=wall, started=began)
    first, *names = requested.split() or [""]
    try:
        at = datetime.fromisoformat(first).timestamp()
    except ValueError:
        at, names = now, []  # a hand-written value: everything afresh, as of now
    refresh = frozenset(names) if names else None
    return Freshness(interval_seconds, min(at, now), refresh, wall, began)
