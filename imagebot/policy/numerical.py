"""The ``numerical:asc`` / ``numerical:desc`` policy: tags (or extracted values) read as numbers;
``asc`` picks the largest, ``desc`` the smallest.

Only plain integers and decimals count (``42``, ``0010``, ``1.5``, ``5.``, ``-3``; ``.5`` and
``+5`` only as extracted values, since no tag starts with them); ``latest``, ``1e3``, ``Inf``,
``0x1p4``, ``1_000`` and ``1.2.3`` are ignored rather than failing the policy as in Flux v2.
Numbers compare exactly (no float rounding); equal numbers go to the greater string.
"""

from __future__ import annotations

import re
from datetime import datetime

from imagebot.policy.protocol import Key, Rank, Ranker, ValueOrdered
from imagebot.records import record

NOT_A_NUMBER = "not a plain number"
# What Go's strconv.ParseFloat (Flux v2) reads as a plain decimal: digits on either side of
# the point may be missing, but not both.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


@record
class NumericalOrdering(ValueOrdered):
    """Numbers, greatest first (``ascending``) or smallest first."""

    ascending: bool

    def admits(self, value: str) -> bool:
        return _NUMBER.fullmatch(value) is not None

    def ranker(self, current: str | None) -> Ranker:
        return self.place

    def place(self, value: str, created: datetime | None) -> Rank | str:
        if _NUMBER.fullmatch(value) is None:
            return NOT_A_NUMBER
        # Imported here: the C decimal module costs ~0.3 MB of RSS in every run, and numerical
        # policies are rare (imagebot run loads every policy module to parse annotations).
        from decimal import Decimal

        number = Decimal(value)
        # copy_negate, not unary minus: minus rounds to the context's 28 digits, and a tag may
        # spell a number of up to 128 digits.
        return ((number if self.ascending else number.copy_negate(),), value)

    def tie_key(self, value: str) -> Key:
        return (value,)

    def describe(self, rank: Rank) -> str:
        return f"number {rank[1]}"


def numerical_policy(order: str) -> NumericalOrdering:
    """The ordering for ``numerical:ORDER``; ``order`` is validated by the factory."""
    return NumericalOrdering(ascending=order == "asc")
