"""The ``glob:`` policy (also any bare pattern, as in Flux v1): whole-tag, case-sensitive
fnmatch-style matching with ``*``, ``?``, ``[...]`` (``[!...]`` negates) and ``\\`` escapes;
the newest creation time wins (ordering in ``timed``).

A malformed glob (an unclosed ``[``, a reversed range, a trailing ``\\``) is a PolicyError with
its position, never a pattern that silently matches nothing. Matching never backtracks: a glob
of text and ``*`` only (``develop-v*``, the common kind) is matched by finding its pieces in
order, each at its first place (enough for ``*``); one with ``?`` or ``[...]`` runs as an RE2
regex. Either way many ``*`` against a long tag cost no more than a pass per piece.
"""

from __future__ import annotations

import string
from collections.abc import Callable

from imagebot.errors import PolicyError
from imagebot.policy.regex import re2_tester
from imagebot.policy.timed import TimeOrdered

_PUNCTUATION = frozenset(string.punctuation)


def glob_policy(pattern: str) -> TimeOrdered:
    """The ordering for ``glob:PATTERN``."""
    matcher = compile_glob(pattern)
    refused = f"does not match the glob {pattern!r}"
    return TimeOrdered(pattern, matcher, refused, latest_ok=pattern == "latest")


def compile_glob(pattern: str) -> Callable[[str], object]:
    """A whole-tag matcher for the glob: it returns None for a tag that does not match."""
    regex = glob_to_regex(pattern)
    if regex is None:
        return lambda tag: True if tag == pattern else None
    if not any(c in pattern for c in "?[\\"):
        return _StarGlob(pattern.split("*"))
    try:
        return re2_tester(regex, whole=True)
    except PolicyError as refused:  # RE2's own bounds (a pattern too large to compile)
        raise PolicyError(f"invalid glob {pattern!r}: {refused}") from None


class _StarGlob:
    """A glob of literal pieces between ``*``: the first piece must start the tag, the last
    must end it, and the ones between are found left to right, each at its first place after
    the previous one. Taking the first place is never wrong for ``*`` (a later one leaves less
    room for the rest), so there is no backtracking: at most one ``find`` per piece."""

    __slots__ = ("first", "last", "middle")

    def __init__(self, pieces: list[str]) -> None:
        self.first, self.last = pieces[0], pieces[-1]
        self.middle = tuple(piece for piece in pieces[1:-1] if piece)

    def __call__(self, tag: str) -> bool | None:
        first, last = self.first, self.last
        if len(tag) < len(first) + len(last):
            return None
        if not tag.startswith(first) or not tag.endswith(last):
            return None
        at, end = len(first), len(tag) - len(last)
        for piece in self.middle:
            found = tag.find(piece, at, end)
            if found < 0:
                return None
            at = found + len(piece)
        return True


def glob_to_regex(pattern: str) -> str | None:
    """The glob as an RE2 regex to match the whole tag; None when it is plain text (no
    wildcard, class or escape). PolicyError, with the position, when it is malformed."""
    if not pattern:
        raise PolicyError("invalid glob '': the pattern is empty; write '*' to match every tag")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if not out or out[-1] != ".*":
                out.append(".*")
            i += 1
        elif c == "?":
            out.append(".")
            i += 1
        elif c == "[":
            cls, i = _glob_class(pattern, i)
            out.append(cls)
        elif c == "\\":
            if i + 1 == len(pattern):
                raise PolicyError(
                    f"invalid glob {pattern!r}: a trailing '\\' at position {i} escapes nothing"
                )
            out.append(_literal(pattern[i + 1]))
            i += 2
        else:
            out.append(_literal(c))
            i += 1
    regex = "".join(out)
    if not any(c in pattern for c in "*?[\\"):
        return None
    return "(?s:" + regex + ")"


def _literal(c: str) -> str:
    """``c`` as RE2 reads it literally: ASCII punctuation escaped, anything else as it is."""
    return "\\" + c if c in _PUNCTUATION else c


def _glob_class(pattern: str, start: int) -> tuple[str, int]:
    """``[...]`` at ``start`` as a regex class, and the index after its ``]``."""
    i = start + 1
    negate = i < len(pattern) and pattern[i] in "!^"
    if negate:
        i += 1
    items: list[str] = []
    first = True
    while i < len(pattern) and (pattern[i] != "]" or first):
        first = False
        low = pattern[i]
        if low == "\\" and i + 1 < len(pattern):
            i += 1
            low = pattern[i]
        if pattern[i + 1 : i + 2] == "-" and pattern[i + 2 : i + 3] not in ("]", ""):
            high = pattern[i + 2]
            if high < low:
                raise PolicyError(
                    f"invalid glob {pattern!r}: range {low}-{high} at position {i} is reversed"
                )
            items.append(f"{_literal(low)}-{_literal(high)}")
            i += 3
        else:
            items.append(_literal(low))
            i += 1
    if i >= len(pattern):
        raise PolicyError(
            f"invalid glob {pattern!r}: '[' at position {start} is never closed with ']' "
            f"(write '\\[' for a literal bracket)"
        )
    return "[" + ("^" if negate else "") + "".join(items) + "]", i + 1
