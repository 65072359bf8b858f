"""The ``glob:`` policy (also any bare pattern, as in Flux v1): whole-tag, case-sensitive
fnmatch-style matching with ``*``, ``?``, ``[...]`` (``[!...]`` negates) and ``\\`` escapes;
the newest creation time wins (ordering in ``timed``).

A malformed glob (an unclosed ``[``, a reversed range, a trailing ``\\``) is a PolicyError with
its position, never a pattern that silently matches nothing.
"""

from __future__ import annotations

import re

from imagebot.errors import PolicyError
from imagebot.policy.timed import TimeOrdered


def glob_policy(pattern: str) -> TimeOrdered:
    """The ordering for ``glob:PATTERN``."""
    regex = compile_glob(pattern)
    refused = f"does not match the glob {pattern!r}"
    return TimeOrdered(pattern, regex.fullmatch, refused, latest_ok=pattern == "latest")


def compile_glob(pattern: str) -> re.Pattern[str]:
    """Translate a glob into a regex that must match the whole tag."""
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
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("(?s:" + "".join(out) + ")")


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
            items.append(f"{re.escape(low)}-{re.escape(high)}")
            i += 3
        else:
            items.append(re.escape(low))
            i += 1
    if i >= len(pattern):
        raise PolicyError(
            f"invalid glob {pattern!r}: '[' at position {start} is never closed with ']' "
            f"(write '\\[' for a literal bracket)"
        )
    return "[" + ("^" if negate else "") + "".join(items) + "]", i + 1
