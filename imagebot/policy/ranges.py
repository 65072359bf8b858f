"""Semver ranges with the exact meaning Masterminds/semver v3 (as Flux v2 uses it) gives them.

``>=1.0.0 <2.0.0``, ``1.2.x``, ``~1.2``, ``^1.2.3``, ``*``, ``1.2 - 1.4.5``, commas and ``||``.
A range is OR-groups of AND-ed comparisons; a version with a prerelease satisfies a group only
when some comparison of that group carries a prerelease (``>=1.0.0-0``). The grammar, including
its quirks (``^*`` means ``^0.0.0``), follows the library; invalid ranges raise ``PolicyError``
naming the offending piece. Versions come from ``versions``; this module picks no tags.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from imagebot.errors import PolicyError
from imagebot.policy.versions import VersionKey, parse_version
from imagebot.records import record

_S = "[ \t\n\f\r]"  # what Go's \s means: ASCII whitespace without \v
# Alternation order matters: the first alternative that lets the rest match wins, as in Go.
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"
_PART = r"[0-9xX*|]+"  # the library's class [0-9|x|X|\*] also admits '|'; such parts fail later
_IDS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_CV = rf"v?{_PART}(?:\.{_PART})?(?:\.{_PART})?(?:-{_IDS})?(?:\+{_IDS})?"
_CV_PARTS = (
    rf"v?(?P<major>{_PART})(?:\.(?P<minor>{_PART}))?(?:\.(?P<patch>{_PART}))?"
    rf"(?P<pre>-{_IDS})?(?:\+{_IDS})?"
)
_HYPHEN = re.compile(rf"{_S}*({_CV}){_S}+-{_S}+({_CV}){_S}*", re.ASCII)
_GROUP = re.compile(
    rf"{_S}*(?:{_OPS}){_S}*{_CV}{_S}*(?:(?:{_S}+|,{_S}*)(?:{_OPS}){_S}*{_CV}{_S}*)*", re.ASCII
)
_READABLE = re.compile(rf"{_S}*(?:{_OPS}){_S}*{_CV}(?:(?:{_S}+|,{_S}*)(?:{_OPS}){_S}*{_CV})*")
_FIND = re.compile(rf"(?:{_OPS}){_S}*{_CV}", re.ASCII)
_ONE = re.compile(rf"{_S}*(?P<op>{_OPS}){_S}*(?P<cv>{_CV_PARTS}){_S}*", re.ASCII)
_X = frozenset({"x", "X", "*"})

Check = Callable[[VersionKey], bool]


@record
class Range:
    """A parsed range: ``groups`` are OR-ed; each is its checks AND-ed plus whether it admits
    prerelease versions."""

    text: str
    groups: tuple[tuple[bool, tuple[Check, ...]], ...]

    @property
    def admits_prereleases(self) -> bool:
        return any(pre for pre, _ in self.groups)

    def check(self, key: VersionKey) -> bool:
        """Does the version with precedence ``key`` (``Version.key``) satisfy the range?"""
        prerelease = not key[3]
        for admits_pre, checks in self.groups:
            if prerelease and not admits_pre:
                continue
            for check in checks:
                if not check(key):
                    break
            else:
                return True
        return False


def parse_range(text: str) -> Range:
    """Parse a Masterminds range; PolicyError says which piece is wrong and why."""
    rewritten = _HYPHEN.sub(lambda m: f">= {m.group(1)}, <= {m.group(2)} ", text)
    groups = []
    offset = 0
    for number, alternative in enumerate(rewritten.split("||"), 1):
        if not _GROUP.fullmatch(alternative):
            raise PolicyError(_group_error(text, rewritten, alternative, number, offset))
        offset += len(alternative) + 2
        checks = []
        admits_pre = False
        for piece in _FIND.findall(alternative):
            check, has_pre = _comparison(text, piece)
            checks.append(check)
            admits_pre = admits_pre or has_pre
        groups.append((admits_pre, tuple(checks)))
    return Range(text, tuple(groups))


def _group_error(text: str, rewritten: str, alternative: str, number: int, offset: int) -> str:
    if not text.strip(" \t\n\f\r"):
        return "empty semver range; write '*' for any release or '>=0.0.0-0' for anything"
    count = rewritten.count("||") + 1
    where = f"alternative {number} of {count}" if count > 1 else "the range"
    exact = rewritten == text  # hyphen ranges were rewritten: positions would not be the user's
    if not alternative.strip(" \t\n\f\r"):
        at = f" (position {offset})" if exact else ""
        return f"invalid semver range {text!r}: {where} is empty{at}"
    readable = _READABLE.match(alternative)
    stop = readable.end() if readable else 0
    stop += len(alternative[stop:]) - len(alternative[stop:].lstrip())
    bad = alternative[stop:].strip() or alternative.strip()
    at = f" at position {offset + stop}" if exact else ""
    where = f"{where}: " if count > 1 else ""
    return (
        f"invalid semver range {text!r}: {where}cannot read {bad!r}{at}; "
        f"write comparisons such as '>=1.2.3 <2.0.0', '^1.2', '~1.2', '1.x' or '1.2 - 1.4', "
        f"joined by spaces or commas (AND) and '||' (OR)"
    )


def _comparison(text: str, piece: str) -> tuple[Check, bool]:
    m = _ONE.fullmatch(piece)
    if m is None:  # pragma: no cover - _GROUP accepted it, so _ONE does too
        raise PolicyError(f"invalid semver range {text!r}: cannot read {piece!r}")
    major, minor, patch, pre = m.group("major", "minor", "patch", "pre")
    pre = pre or ""
    # A wildcard or missing part makes the comparison "dirty": it then compares whole lines
    # (1.2.x) rather than points, and the version drops its build metadata.
    dirty, minor_dirty, patch_dirty = True, False, False
    if major in _X:
        spelled = f"0.0.0{pre}"
    elif minor is None or minor in _X:
        minor_dirty = True
        spelled = f"{major}.0.0{pre}"
    elif patch is None or patch in _X:
        patch_dirty = True
        spelled = f"{major}.{minor}.0{pre}"
    else:
        dirty, spelled = False, m.group("cv")
    version = parse_version(spelled)
    if version is None:
        raise PolicyError(
            f"invalid semver range {text!r}: {m.group('cv')!r} in {piece.strip()!r} is not a "
            f"version (numbers up to 2^64-1, prerelease numbers without leading zeros)"
        )
    op = m.group("op")
    return _CHECKS[op](version.key, dirty, minor_dirty, patch_dirty), bool(version.pre)


def _tilde(c: VersionKey, dirty: bool, minor_dirty: bool, patch_dirty: bool) -> Check:
    anything = c[0] == 0 and c[1] == 0 and c[2] == 0 and not minor_dirty and not patch_dirty

    def check(v: VersionKey) -> bool:
        if v < c:
            return False
        if anything:
            return True
        return v[0] == c[0] and (minor_dirty or v[1] == c[1])

    return check


def _equal(c: VersionKey, dirty: bool, minor_dirty: bool, patch_dirty: bool) -> Check:
    if dirty:
        return _tilde(c, dirty, minor_dirty, patch_dirty)
    return lambda v: v == c


def _not_equal(c: VersionKey, dirty: bool, minor_dirty: bool, patch_dirty: bool) -> Check:
    def check(v: VersionKey) -> bool:
        if dirty:
            if v[0] != c[0] or (v[1] != c[1] and not minor_dirty):
                return True
            if minor_dirty:
                return False
            if v[2] != c[2] and not patch_dirty:
                return True
            if patch_dirty:
                return (v[3], v[4]) != (c[3], c[4]) and bool(v[4] or c[4])
        return v != c

    return check


def _greater(c: VersionKey, dirty: bool, minor_dirty: bool, patch_dirty: bool) -> Check:
    if not dirty:
        return lambda v: v > c

    def check(v: VersionKey) -> bool:
        if v[0] != c[0]:
            return v[0] > c[0]
        if minor_dirty:  # >1 means 2.0.0 and up
            return False
        if patch_dirty:  # >1.2 means 1.3.0 and up
            return v[1] > c[1]
        return v > c

    return check


def _less_equal(c: VersionKey, dirty: bool, minor_dirty: bool, patch_dirty: bool) -> Check:
    if not dirty:
        return lambda v: v <= c
    return lambda v: v[0] < c[0] or (v[0] == c[0] and (minor_dirty or v[1] <= c[1]))


def _caret(c: VersionKey, dirty: bool, minor_dirty: bool, patch_dirty: bool) -> Check:
    def check(v: VersionKey) -> bool:
        if v < c:
            return False
        if c[0] > 0 or minor_dirty:
            return v[0] == c[0]
        if v[0] > 0:
            return False
        if c[1] > 0 or patch_dirty:
            return v[1] == c[1]
        return v[1] == 0 and v[2] == c[2]

    return check


def _simple(compare: Callable[[VersionKey, VersionKey], bool]) -> Callable[..., Check]:
    def build(c: VersionKey, dirty: bool, minor_dirty: bool, patch_dirty: bool) -> Check:
        return lambda v: compare(v, c)

    return build


_CHECKS: dict[str, Callable[[VersionKey, bool, bool, bool], Check]] = {
    "": _equal,
    "=": _equal,
    "!=": _not_equal,
    ">": _greater,
    "<": _simple(lambda v, c: v < c),
    ">=": _simple(lambda v, c: v >= c),
    "=>": _simple(lambda v, c: v >= c),
    "<=": _less_equal,
    "=<": _less_equal,
    "~": _tilde,
    "~>": _tilde,
    "^": _caret,
}
