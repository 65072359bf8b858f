"""Write a new value over one scalar's span of text, in the scalar's own style.

Plain stays plain unless the new value would then read as something else (``1.10`` is a float,
``yes`` a YAML 1.1 bool, ``a:b`` breaks libyaml inside ``{...}``): then it is double-quoted.
Single- and double-quoted values keep their quotes; a one-line block scalar keeps its header.
Values that run over several lines are refused rather than guessed at.
"""

from __future__ import annotations

from imagebot.errors import RewriteError
from imagebot.manifest import nodes
from imagebot.manifest.compose import ScalarNode, resolves_to_string
from imagebot.manifest.facts import ScalarSpan
from imagebot.records import record

_PLAIN_FIRST_FORBIDDEN = "-?:,[]{}#&*!|>'\"%@`"
_FLOW_FORBIDDEN = ",[]{}"
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t"}


@record
class Splice:
    """Replace ``source[start:end]`` with ``text``."""

    start: int
    end: int
    text: str


def splice_scalar(
    source: str, node: ScalarNode, value: str, *, in_flow: bool, where: str
) -> Splice:
    """The splice that makes ``node`` read ``value``; ``where`` (file:line) names it in errors."""
    span = ScalarSpan(
        nodes.content_start(source, node), int(node.end_mark.index), node.style or "", node.value
    )
    return splice_span(source, span, value, in_flow=in_flow, where=where)


def splice_span(source: str, span: ScalarSpan, value: str, *, in_flow: bool, where: str) -> Splice:
    """The splice that makes the scalar at ``span`` read ``value``."""
    start, end, style = span.start, span.end, span.style
    raw = source[start:end]
    if style in ("|", ">"):
        block = _splice_block(raw, span.value, value, where)
        return Splice(start, end, block)
    if any(char in raw for char in nodes.LINE_BREAKS):
        raise RewriteError(f"{where}: the image value runs over several lines; join it into one")
    if style == "'":
        return Splice(start, end, "'" + value.replace("'", "''") + "'")
    if style == '"':
        return Splice(start, end, double_quoted(value))
    if raw != span.value:
        raise RewriteError(f"{where}: the plain value {raw!r} does not read as {span.value!r}")
    if plain_is_safe(value, old=span.value, in_flow=in_flow):
        return Splice(start, end, value)
    return Splice(start, end, double_quoted(value))


def _splice_block(raw: str, old: str, value: str, where: str) -> str:
    """A block scalar holding one line (``image: >-`` then the reference): replace that line's
    text and keep the header, indentation and chomping as they are."""
    line = old.rstrip("\n")
    header_end = min((raw.find(c) for c in nodes.LINE_BREAKS if c in raw), default=-1)
    at = raw.find(line, header_end) if line and header_end >= 0 else -1
    if "\n" in line or at < 0 or raw.count(line, header_end) != 1:
        raise RewriteError(f"{where}: the image is a block scalar over several lines; join it")
    return raw[:at] + value + raw[at + len(line) :]


def double_quoted(value: str) -> str:
    return '"' + "".join(_ESCAPES.get(char, char) for char in value) + '"'


def plain_is_safe(value: str, *, old: str, in_flow: bool) -> bool:
    """True when ``value`` written plain reads back as the same string."""
    if not value or value != value.strip() or value[0] in _PLAIN_FIRST_FORBIDDEN:
        return False
    if ": " in value or " #" in value or any(char in value for char in nodes.LINE_BREAKS + "\t"):
        return False
    if value.endswith(":"):
        return False
    if in_flow and (
        any(char in value for char in _FLOW_FORBIDDEN) or (":" in value and ":" not in old)
    ):
        return False
    return resolves_to_string(value)


def apply_splices(source: str, splices: list[Splice], where: str) -> str:
    """``source`` with every splice applied; overlapping splices are a programming error."""
    ordered = sorted(splices, key=lambda s: s.start)
    pieces: list[str] = []
    cursor = 0
    for splice in ordered:
        if splice.start < cursor:
            raise RewriteError(f"{where}: two edits overlap; nothing was written")
        pieces.extend((source[cursor : splice.start], splice.text))
        cursor = splice.end
    pieces.append(source[cursor:])
    return "".join(pieces)
