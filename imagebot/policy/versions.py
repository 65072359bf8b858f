"""Lenient version parsing and semver precedence, read the way Masterminds/semver v3 reads them.

``1``, ``v1.2``, ``2025.02.03-rc.1`` and ``1.2.3+build.7`` are versions: an optional lower-case
``v``, one to three numeric parts (leading zeros allowed, each at most 2^64-1), an optional
prerelease and build metadata. Four-part tags, an upper-case ``V`` and malformed prerelease
identifiers are not. This module knows nothing about ranges (see ``ranges``) or tags.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_UINT64_MAX = 2**64 - 1
_IDENTIFIERS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_VERSION = re.compile(
    rf"v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-({_IDENTIFIERS}))?(?:\+({_IDENTIFIERS}))?",
    re.ASCII,
)

PreKey = tuple[tuple[int, int, str], ...]
VersionKey = tuple[int, int, int, int, PreKey]
"""Precedence: major, minor, patch, 1 for a release (0 for a prerelease), prerelease identifiers.
Python's tuple order on it is semver precedence; build metadata is not part of it."""


class Version(NamedTuple):
    """A parsed version: its precedence ``key``, its prerelease text and how many numeric parts
    the text spelled out (``1.2`` has 2), which breaks ties between equal versions."""

    key: VersionKey
    pre: str
    parts: int

    @property
    def major(self) -> int:
        return self.key[0]

    @property
    def minor(self) -> int:
        return self.key[1]

    @property
    def patch(self) -> int:
        return self.key[2]

    def __str__(self) -> str:
        core = f"{self.key[0]}.{self.key[1]}.{self.key[2]}"
        return f"{core}-{self.pre}" if self.pre else core


def parse_version(text: str) -> Version | None:
    """The version ``text`` spells, or None when it is not one."""
    m = _VERSION.fullmatch(text)
    key = None if m is None else _key(m)
    if m is None or key is None:
        return None
    return Version(key, m.group(4) or "", 3 - m.groups()[:3].count(None))


def version_key(text: str) -> VersionKey | None:
    """Just the precedence key of ``text``: the fast path for ranking many tags."""
    m = _VERSION.fullmatch(text)
    return None if m is None else _key(m)


def _key(m: re.Match[str]) -> VersionKey | None:
    major_text, minor_text, patch_text, pre, _metadata = m.groups()
    major = int(major_text)
    minor = int(minor_text) if minor_text is not None else 0
    patch = int(patch_text) if patch_text is not None else 0
    if major > _UINT64_MAX or minor > _UINT64_MAX or patch > _UINT64_MAX:
        return None
    if pre is None:
        return (major, minor, patch, 1, ())
    pre_key = prerelease_key(pre)
    if pre_key is None:
        return None
    return (major, minor, patch, 0, pre_key)


def prerelease_key(pre: str) -> PreKey | None:
    """Identifiers in precedence order: numbers (compared as numbers) sort before words.

    None when an identifier is a number with a leading zero, which semver forbids. A digit run
    too large for 64 bits counts as a word, as in Masterminds.
    """
    key = []
    for ident in pre.split("."):
        if ident.isdigit() and ident.isascii():
            if len(ident) > 1 and ident[0] == "0":
                return None
            number = int(ident)
            if number <= _UINT64_MAX:
                key.append((0, number, ""))
                continue
        key.append((1, 0, ident))
    return tuple(key)
