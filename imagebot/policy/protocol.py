"""The contracts of the policy engine: what callers hold (``Policy``) and what every policy kind
implements (``Ordering``), plus ``Rank``, the position a candidate takes under a policy.

A kind orders values: a tag, or the text a filter extracted from it. Greater ranks are better.
Selection (``select``) and parsing (``factory``) build on these; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

Key = tuple[object, ...]


Rank = tuple[Key, str]
"""Where a value stands: ``(primary, value)``. The primary key is what the policy orders by
(greater is better); equal primaries are broken by ``Ordering.tie_key(value)``, then by the
greater tag. A plain tuple, because one is built per candidate."""


Ranker = Callable[[str, datetime | None], Rank | str]
"""(value or tag, creation time) -> its Rank, or the reason it cannot be chosen."""


class Ordering(Protocol):
    """One policy kind: which values it admits and how it orders them."""

    @property
    def needs_created(self) -> bool:
        """True when it orders by image creation time (the registry must fetch it)."""
        ...

    @property
    def needs_current(self) -> bool:
        """True when it picks relative to the deployed tag (all/major/minor/patch)."""
        ...

    def admits(self, value: str) -> bool:
        """Could ``value`` be chosen at all, knowing neither times nor the current tag?"""
        ...

    def ranker(self, current: str | None) -> Ranker:
        """Rank candidates; ``current`` is the deployed value (kinds that need it use it)."""
        ...

    def place(self, value: str, created: datetime | None) -> Rank | str:
        """The rank of the deployed value for the downgrade check, whether or not it would be
        admitted as a candidate; a string says why it has no place (no check is made)."""
        ...

    def tie_key(self, value: str) -> Key:
        """Breaks ties between equal primaries: the greater key wins."""
        ...

    def describe(self, rank: Rank) -> str:
        """How a candidate ranked, in a few words (``version 1.2.3``)."""
        ...


class ValueOrdered:
    """The defaults of kinds that order the value alone (semver, numerical, alphabetical): they
    need neither creation times nor the current tag. A mixin for their frozen dataclasses."""

    __slots__ = ()

    @property
    def needs_created(self) -> bool:
        return False

    @property
    def needs_current(self) -> bool:
        return False


class Policy(Protocol):
    """A parsed tag policy, filter included; build one with ``parse_policy``."""

    @property
    def text(self) -> str:
        """The policy as written."""
        ...

    @property
    def needs_created(self) -> bool:
        """True for time-ordered policies: fetch creation times for tags that ``matches``."""
        ...

    @property
    def needs_current(self) -> bool:
        """True for all/major/minor/patch: ``select_tag`` needs the current tag."""
        ...

    @property
    def ordering(self) -> Ordering:
        """The policy kind, which ranks the values ``value_of`` yields."""
        ...

    def matches(self, tag: str) -> bool:
        """A cheap pre-filter: could ``tag`` be chosen at all (times and current unknown)?"""
        ...

    def value_of(self, tag: str) -> str | None:
        """The value the policy orders for ``tag`` (the tag, or what the filter extracts);
        None when the filter rejects it."""
        ...
