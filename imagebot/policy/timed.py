"""Time-ordered policies (glob and regex): the newest image creation time wins.

Candidates without a known creation time are never chosen; equal times go to the greatest value
in natural order (``build-10`` after ``build-9``). The tag ``latest`` in any letter case is never
chosen unless the policy is the glob ``latest`` itself (Flux v1's rule, kept on purpose). The glob
and regex modules say only how a pattern matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from imagebot.policy.protocol import Key, Rank, Ranker
from imagebot.records import record

NO_TIME = "has no known creation time"
LATEST = "is 'latest', which only the glob 'latest' chooses"
_CHUNKS = re.compile(r"[0-9]+|[^0-9]+")


def natural_key(text: str) -> Key:
    """Digit runs compare as numbers, other runs as text; the text itself breaks what is left
    (``01`` vs ``1``)."""
    chunks = tuple((0, int(c), "") if c[0].isdigit() else (1, 0, c) for c in _CHUNKS.findall(text))
    return (chunks, text)


def _utc_text(created: datetime) -> str:
    return created.astimezone(UTC).isoformat().replace("+00:00", "Z")


@record
class TimeOrdered:
    """Shared ordering of glob and regex policies; ``pattern`` is the pattern as written,
    ``found`` tells whether a value matches it and ``latest_ok`` whether ``latest`` may be chosen.
    """

    pattern: str
    found: Callable[[str], object]
    refused: str  # the exclusion reason for a value that does not match
    # Flux v1 (pkg/update/images.go) admits `latest` only for the glob pattern `latest` itself:
    # not `LATEST`, not `regex:latest` or `regex:^latest$`.
    latest_ok: bool = False

    @property
    def needs_created(self) -> bool:
        return True

    @property
    def needs_current(self) -> bool:
        return False

    def admits(self, value: str) -> bool:
        if not self.latest_ok and value.lower() == "latest":
            return False
        return self.found(value) is not None

    def ranker(self, current: str | None) -> Ranker:
        found, refused, latest_ok = self.found, self.refused, self.latest_ok

        def rank(value: str, created: datetime | None) -> Rank | str:
            if not latest_ok and value.lower() == "latest":
                return LATEST
            if found(value) is None:
                return refused
            if created is None:
                return NO_TIME
            return ((created,), value)

        return rank

    def place(self, value: str, created: datetime | None) -> Rank | str:
        if created is None:
            return NO_TIME
        return ((created,), value)

    def tie_key(self, value: str) -> Key:
        return natural_key(value)

    def describe(self, rank: Rank) -> str:
        created = rank[0][0]
        return f"created {_utc_text(created) if isinstance(created, datetime) else created}"
