"""The ``semver:RANGE`` policy: the highest version inside a Masterminds range wins.

Tags are read leniently (``v1.2``, ``1``); among equal versions the tag that spells more numeric
parts wins (``1.2.0`` over ``1.2``), then the greater string. ``VersionRanked`` holds that
ordering for the Keel bumps too. Range grammar and matching live in ``ranges``, version parsing
in ``versions``.
"""

from __future__ import annotations

from datetime import datetime

from imagebot.policy.protocol import Key, Rank, Ranker, ValueOrdered
from imagebot.policy.ranges import Range, parse_range
from imagebot.policy.versions import parse_version, version_key
from imagebot.records import record

NOT_A_VERSION = "not a version"


class VersionRanked:
    """Semver precedence with imagebot's tie rule: the ordering half shared by ``semver`` and
    the ``major``/``minor``/``patch`` bumps (a mixin for their frozen dataclasses)."""

    __slots__ = ()

    def place(self, value: str, created: datetime | None) -> Rank | str:
        key = version_key(value)
        return NOT_A_VERSION if key is None else (key, value)

    def tie_key(self, value: str) -> Key:
        version = parse_version(value)
        return (version.parts if version else 0, value)

    def describe(self, rank: Rank) -> str:
        return f"version {rank[1]}"


@record
class SemverOrdering(VersionRanked, ValueOrdered):
    """Versions inside ``range`` ordered by semver precedence."""

    range: Range

    def admits(self, value: str) -> bool:
        key = version_key(value)
        return key is not None and self.range.check(key)

    def ranker(self, current: str | None) -> Ranker:
        check = self.range.check
        outside = f"outside the range {self.range.text!r}"
        if not self.range.admits_prereleases:
            prerelease = f"a prerelease, and the range {self.range.text!r} admits none"
        else:
            prerelease = outside

        def rank(value: str, created: datetime | None) -> Rank | str:
            key = version_key(value)
            if key is None:
                return NOT_A_VERSION
            if not check(key):
                return outside if key[3] else prerelease
            return (key, value)

        return rank


def semver_policy(text: str) -> SemverOrdering:
    """The ordering for ``semver:RANGE``; PolicyError when the range is invalid."""
    return SemverOrdering(parse_range(text))
