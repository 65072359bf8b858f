"""Keel's ``all`` / ``major`` / ``minor`` / ``patch`` policies: the highest version strictly newer
than the current tag that keeps its major (``minor``) or its major and minor (``patch``);
``major`` and ``all`` allow any newer version.

A prerelease current tag stays on its prerelease track: candidates must carry exactly the same
prerelease text (``1.4.5-rc1`` moves to ``1.4.6-rc1``), and a release stays on releases; ``all``
alone crosses tracks, as in Keel (``internal/policy/semver.go``). From the current tag
``latest``, literally, every kind takes the highest version, prereleases included, as Keel
does; any other current tag that is not a version (``main``, ``stable``) chooses nothing.
Versions are read leniently, as by ``semver``; ties are broken the same way.
"""

from __future__ import annotations

from datetime import datetime

from imagebot.policy.protocol import Rank, Ranker
from imagebot.policy.semver import NOT_A_VERSION, VersionRanked
from imagebot.policy.versions import parse_version, version_key
from imagebot.records import record

LATEST = "latest"  # the one current tag that is not a version and still moves (Keel's rule)
_KEEP = {"all": 0, "major": 0, "minor": 1, "patch": 2}  # how many leading parts must stay equal


@record
class BumpOrdering(VersionRanked):
    """Versions newer than the current one within the allowed bump."""

    kind: str  # "all", "major", "minor" or "patch"

    @property
    def needs_created(self) -> bool:
        return False

    @property
    def needs_current(self) -> bool:
        return True

    def admits(self, value: str) -> bool:
        return version_key(value) is not None

    def ranker(self, current: str | None) -> Ranker:
        if current == LATEST:
            return _any_version
        base = parse_version(current) if current else None
        if base is None:
            unknown = (
                f"the current tag {current!r} is not a version (nor {LATEST!r}), "
                f"so no {self.kind} bump"
            )
            return lambda value, created: unknown
        keep = _KEEP[self.kind]
        any_track = self.kind == "all"
        fixed, track_key, floor = base.key[:keep], base.key[3:], base.key
        track = "releases" if not base.pre else f"prerelease track -{base.pre}"
        off_track = f"off the current tag's {track}"
        moved = f"changes a part a {self.kind} bump keeps ({'.'.join(map(str, fixed))}.*)"
        not_newer = f"not newer than the current tag {current}"

        def rank(value: str, created: datetime | None) -> Rank | str:
            key = version_key(value)
            if key is None:
                return NOT_A_VERSION
            if not any_track and key[3:] != track_key:  # same prerelease text, or a release
                return off_track
            if key[:keep] != fixed:
                return moved
            if key <= floor:
                return not_newer
            return (key, value)

        return rank


def _any_version(value: str, created: datetime | None) -> Rank | str:
    """From ``latest``: every version qualifies, prereleases included (Keel's ``shouldUpdate``
    returns true for any tag when the current one is ``latest``)."""
    key = version_key(value)
    return NOT_A_VERSION if key is None else (key, value)
