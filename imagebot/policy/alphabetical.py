"""The ``alphabetical:asc`` / ``alphabetical:desc`` policy: byte order of the tag (or extracted
value); ``asc`` picks the greatest, ``desc`` the smallest. Equal values go to the greater tag.

Numbers of different length do not order numerically here (``9`` > ``10``); that is what
``numerical`` is for.
"""

from __future__ import annotations

from datetime import datetime

from imagebot.policy.protocol import Key, Rank, Ranker, ValueOrdered
from imagebot.records import record

# Complementing every UTF-8 byte reverses byte order; the 0xff terminator puts a prefix after
# its extensions ("a" before "ab" in descending order), so one max() serves both directions.
_COMPLEMENT = bytes(range(255, -1, -1))


@record
class AlphabeticalOrdering(ValueOrdered):
    """Values in byte order, greatest first (``ascending``) or smallest first."""

    ascending: bool

    def admits(self, value: str) -> bool:
        return True

    def ranker(self, current: str | None) -> Ranker:
        return self.place

    def place(self, value: str, created: datetime | None) -> Rank | str:
        if self.ascending:
            return ((value,), value)
        return ((value.encode().translate(_COMPLEMENT) + b"\xff",), value)

    def tie_key(self, value: str) -> Key:
        return ()  # equal values are equal strings: the greater tag decides

    def describe(self, rank: Rank) -> str:
        return f"value {rank[1]!r}"


def alphabetical_policy(order: str) -> AlphabeticalOrdering:
    """The ordering for ``alphabetical:ORDER``; ``order`` is validated by the factory."""
    return AlphabeticalOrdering(ascending=order == "asc")
