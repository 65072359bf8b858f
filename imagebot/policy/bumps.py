"""Keel's ``major`` / ``minor`` / ``patch`` policies: the highest version strictly newer than the
current tag that keeps its major (``minor``) or its major and minor (``patch``); ``major`` allows
any newer version.

A prerelease current tag stays on its prerelease track: candidates must carry exactly the same
prerelease text (``1.4.5-rc1`` moves to ``1.4.6-rc1``), and a release stays on releases.
Versions are read leniently, as by ``semver``; ties are broken the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from imagebot.policy.protocol import Rank, Ranker
from imagebot.policy.semver import NOT_A_VERSION, VersionRanked
from imagebot.policy.versions import parse_version, version_key

_KEEP = {"major": 0, "minor": 1, "patch": 2}  # how many leading parts must stay equal


@dataclass(frozen=True, slots=True)
class BumpOrdering(VersionRanked):
    """Versions newer than the current one within the allowed bump."""

    kind: str  # "major", "minor" or "patch"

    @property
    def needs_created(self) -> bool:
        return False

    @property
    def needs_current(self) -> bool:
        return True

    def admits(self, value: str) -> bool:
        return version_key(value) is not None

    def ranker(self, current: str | None) -> Ranker:
        base = parse_version(current) if current else None
        if base is None:
            unknown = f"the current tag {current!r} is not a version, so no {self.kind} bump"
            return lambda value, created: unknown
        keep = _KEEP[self.kind]
        fixed, track_key, floor = base.key[:keep], base.key[3:], base.key
        track = "releases" if not base.pre else f"prerelease track -{base.pre}"
        off_track = f"off the current tag's {track}"
        moved = f"changes a part a {self.kind} bump keeps ({'.'.join(map(str, fixed))}.*)"
        not_newer = f"not newer than the current tag {current}"

        def rank(value: str, created: datetime | None) -> Rank | str:
            key = version_key(value)
            if key is None:
                return NOT_A_VERSION
            if key[3:] != track_key:  # the same prerelease text, or a release like the current
                return off_track
            if key[:keep] != fixed:
                return moved
            if key <= floor:
                return not_newer
            return (key, value)

        return rank
