"""Flux v2's ``filterTags``: a regex candidates must match, and a template that extracts the value
the policy orders (``$ts``, ``${name}``, ``$1``, ``$$`` for a dollar), with Go's expansion rules.

Unlike Flux v2, a template that names a group the regex does not define is an invalid policy,
not a silent empty string. A group that exists but did not take part in the match expands to
the empty string, as in Go. This module filters and extracts; it does not order anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from imagebot.errors import PolicyError
from imagebot.policy.regex import Regex, compile_regex, re2_tester
from imagebot.records import record

_NAME = re.compile(r"[A-Za-z0-9_]+", re.ASCII)
Piece = str | int  # literal text, or the number of the group to insert


@record
class TagFilter:
    """A compiled filter: ``value(tag)`` is the text to order, or None when the tag is out."""

    pattern: str
    extract: str | None
    regex: Regex  # RE2: linear time, whatever the pattern
    pieces: tuple[Piece, ...] | None
    found: Callable[[str], object]  # the same regex as a yes/no test, for filters without groups

    def value(self, tag: str) -> str | None:
        if self.pieces is None:
            return tag if self.found(tag) is not None else None
        m = self.regex.search(tag)
        if m is None:
            return None
        return "".join(p if isinstance(p, str) else (m.group(p) or "") for p in self.pieces)


def parse_filter(pattern: str, extract: str | None) -> TagFilter:
    """Compile the pattern and the template; PolicyError names what is wrong and where."""
    regex = compile_regex(pattern, "filter")
    pieces = _template(extract, regex, pattern) if extract else None
    found = regex.search if pieces else re2_tester(pattern)
    return TagFilter(pattern, extract or None, regex, pieces, found)


def _template(template: str, regex: Regex, pattern: str) -> tuple[Piece, ...]:
    """Split the template into literal text and group numbers, following Go's Regexp.Expand:
    ``$name`` takes the longest run of letters, digits and ``_`` (``$1x`` is the group "1x"),
    and a ``$`` that starts no valid reference is literal text."""
    pieces: list[Piece] = []
    literal: list[str] = []
    i = 0
    while i < len(template):
        c = template[i]
        if c != "$":
            literal.append(c)
            i += 1
            continue
        if template.startswith("$$", i):
            literal.append("$")
            i += 2
            continue
        name, end = _reference(template, i)
        if name is None:
            literal.append("$")
            i += 1
            continue
        pieces.extend(["".join(literal)] if literal else [])
        literal = []
        pieces.append(_group_number(name, i, template, regex, pattern))
        i = end
    if literal:
        pieces.append("".join(literal))
    return tuple(pieces)


def _reference(template: str, dollar: int) -> tuple[str | None, int]:
    if template.startswith("${", dollar):
        close = template.find("}", dollar + 2)
        if close == -1 or not _NAME.fullmatch(template, dollar + 2, close):
            return None, dollar + 1
        return template[dollar + 2 : close], close + 1
    m = _NAME.match(template, dollar + 1)
    if m is None:
        return None, dollar + 1
    return m.group(), m.end()


def _group_number(name: str, at: int, template: str, regex: Regex, pattern: str) -> int:
    # Go reads an all-digit name without a leading zero as a group number; "01" is a name.
    if name.isdigit() and (name == "0" or name[0] != "0"):
        if int(name) <= regex.groups:
            return int(name)
    elif name in regex.groupindex:
        return regex.groupindex[name]
    known = [f"${n}" for n in regex.groupindex] + [f"${n}" for n in range(regex.groups + 1)]
    raise PolicyError(
        f"invalid extract template {template!r}: ${name} at position {at} names a group the "
        f"filter {pattern!r} does not define (it has {', '.join(known)})"
    )
