"""Text splices on one mapping: add, change or remove an entry in the style around it.

Block mappings get whole lines at the indentation of their keys; flow mappings get ``, k: v``
with their own separator. New keys and values are plain when that reads back as the same string
(``splice.plain_is_safe``), else quoted like their neighbours. Line endings follow the file.
Works on marks of freshly composed nodes; proving the result is the caller's job.
"""

from __future__ import annotations

from collections.abc import Mapping

from imagebot.errors import ManifestError
from imagebot.manifest import nodes
from imagebot.manifest.compose import MappingNode, Node, ScalarNode, SequenceNode
from imagebot.manifest.splice import double_quoted, plain_is_safe

_QUOTES = ("'", '"')


def refuse_alias(key: Node, value: Node, what: str) -> None:
    """An alias's marks point at its anchor elsewhere; editing there would change every use."""
    if value.start_mark.index < key.end_mark.index:
        raise ManifestError(f"{what} is an alias of another node; edit it by hand")


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def add_entry(
    body: str, mapping: MappingNode, key: str, value: str | Mapping[str, str], *, parent: Node
) -> str:
    """``mapping`` with ``key: value`` added after its last entry. A mapping ``value`` becomes a
    nested mapping in the same style (how ``annotations:`` itself is created)."""
    if mapping.flow_style:
        return _add_flow(body, mapping, key, value)
    pairs = mapping.value
    if not pairs:  # pragma: no cover - an empty mapping is always written as flow `{}`
        raise ManifestError("cannot add to an empty block mapping")
    column = int(pairs[0][0].start_mark.column)
    step = column - int(parent.start_mark.column)
    step = step if step > 0 else 2
    newline = newline_of(body)
    if isinstance(value, Mapping):
        style = _Style(mapping)
        lines = [f"{' ' * column}{style.key(key, flow=False)}:"] + [
            f"{' ' * (column + step)}{_Style(None).key(k, flow=False)}: "
            f"{_Style(None).value(v, flow=False)}"
            for k, v in value.items()
        ]
        anchor = _after_names(mapping)
    else:
        style = _Style(mapping)
        lines = [f"{' ' * column}{style.key(key, flow=False)}: {style.value(value, flow=False)}"]
        anchor = len(pairs) - 1
    return _insert_lines(body, _line_after(body, pairs[anchor][1]), lines, newline)


def fill_null(
    body: str,
    key: ScalarNode,
    null: ScalarNode,
    entries: Mapping[str, str],
    *,
    parent: MappingNode,
    step: int,
) -> str:
    """``key:`` (or ``key: ~``) in ``parent`` made to hold ``entries``: a block mapping indented
    ``step`` more than ``key``, or ``{...}`` when ``parent`` is itself a flow mapping."""
    if parent.flow_style:
        start, end = nodes.content_start(body, null), int(null.end_mark.index)
        if start == end:
            raise ManifestError("an empty value inside {...} cannot be filled; write {} first")
        return body[:start] + _flow_mapping(entries) + body[end:]
    colon = body.index(":", int(key.end_mark.index))
    start, end = nodes.content_start(body, null), int(null.end_mark.index)
    if start < end:  # drop `~` / `null` and the blank before it; a comment after stays
        body = body[: colon + 1] + body[end:]
    indent = " " * (int(key.start_mark.column) + (step if step > 0 else 2))
    style = _Style(None)
    lines = [
        f"{indent}{style.key(k, flow=False)}: {style.value(v, flow=False)}"
        for k, v in entries.items()
    ]
    newline_at = body.find("\n", colon)
    position = len(body) if newline_at < 0 else newline_at + 1
    return _insert_lines(body, position, lines, newline_of(body))


def replace_value(body: str, mapping: MappingNode, index: int, value: str) -> str:
    """The value of entry ``index`` replaced, keeping its quotes when it had them."""
    key, node = mapping.value[index]
    refuse_alias(key, node, f"annotation {nodes.text(key)}")
    if not isinstance(node, ScalarNode):
        raise ManifestError(f"annotation {nodes.text(key)} is not a string")
    start, end = nodes.content_start(body, node), int(node.end_mark.index)
    flow = bool(mapping.flow_style)
    style = _Style(mapping)
    if node.style in _QUOTES:
        text = _quoted(value, str(node.style))
    elif node.style in ("|", ">"):
        # A block scalar's span runs to the next line: keep that line break.
        text = style.value(value, flow=flow) + newline_of(body)
    else:
        text = style.value(value, flow=flow)
    return body[:start] + text + body[end:]


def remove_entry(body: str, mapping: MappingNode, index: int) -> str:
    """Entry ``index`` removed: whole lines in block style, ``, k: v`` in flow style."""
    pairs = mapping.value
    key, value = pairs[index]
    if mapping.flow_style:
        if len(pairs) == 1:
            start, end = nodes.content_start(body, key), _end(value)
        elif index > 0:
            start, end = _end(pairs[index - 1][1]), _end(value)
        else:
            start, end = nodes.content_start(body, key), nodes.content_start(body, pairs[1][0])
        return body[:start] + body[end:]
    start = body.rfind("\n", 0, int(key.start_mark.index)) + 1
    if body[start : int(key.start_mark.index)].strip():
        raise ManifestError(f"{nodes.text(key)} shares its line with other content; edit by hand")
    end = _line_after(body, value)
    if end == len(body) and not body.endswith("\n") and start > 0:
        start -= 2 if body[start - 2 : start] == "\r\n" else 1  # keep "no final newline"
    return body[:start] + body[end:]


class _Style:
    """How a mapping's neighbours are written: which quote they use, whether all are quoted."""

    def __init__(self, mapping: MappingNode | None) -> None:
        values = [v for _, v in mapping.value if isinstance(v, ScalarNode)] if mapping else []
        keys = [k for k, _ in mapping.value if isinstance(k, ScalarNode)] if mapping else []
        quoted = [str(v.style) for v in values if v.style in _QUOTES]
        self.quote = quoted[0] if quoted else '"'
        # Quote everything only when neighbours that could be plain are quoted too ("true" must
        # be quoted, so it says nothing about taste).
        could_be_plain = [v for v in values if plain_is_safe(str(v.value), old="", in_flow=False)]
        self.quote_all = bool(could_be_plain) and all(v.style in _QUOTES for v in could_be_plain)
        quoted_keys = [str(k.style) for k in keys if k.style in _QUOTES]
        self.key_quote = quoted_keys[0] if keys and len(quoted_keys) == len(keys) else None

    def value(self, value: str, *, flow: bool) -> str:
        if not self.quote_all and plain_is_safe(value, old="", in_flow=flow):
            return value
        return _quoted(value, self.quote)

    def key(self, key: str, *, flow: bool) -> str:
        if self.key_quote is None and plain_is_safe(key, old="", in_flow=flow):
            return key
        return _quoted(key, self.key_quote or '"')


def _quoted(value: str, quote: str) -> str:
    if quote == "'" and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    return double_quoted(value)


def _flow_mapping(entries: Mapping[str, str]) -> str:
    style = _Style(None)
    inner = ", ".join(
        f"{style.key(k, flow=True)}: {style.value(v, flow=True)}" for k, v in entries.items()
    )
    return "{" + inner + "}"


def _add_flow(body: str, mapping: MappingNode, key: str, value: str | Mapping[str, str]) -> str:
    style = _Style(mapping)
    rendered = _flow_mapping(value) if isinstance(value, Mapping) else style.value(value, flow=True)
    entry = f"{style.key(key, flow=True)}: {rendered}"
    pairs = mapping.value
    if not pairs:
        brace = body.index("{", nodes.content_start(body, mapping))
        return body[: brace + 1] + entry + body[brace + 1 :]
    separator = ", "
    if len(pairs) > 1:
        separator = body[_end(pairs[0][1]) : nodes.content_start(body, pairs[1][0])]
    position = _end(pairs[-1][1]) if _end(pairs[-1][1]) else int(pairs[-1][0].end_mark.index)
    return body[:position] + separator + entry + body[position:]


def _end(node: Node) -> int:
    return int(node.end_mark.index)


def _after_names(metadata: MappingNode) -> int:
    """Where a new ``annotations:`` goes: after ``namespace``/``name``, as kubectl writes it."""
    names = [i for i, (k, _) in enumerate(metadata.value) if nodes.text(k) in ("name", "namespace")]
    return max(names) if names else len(metadata.value) - 1


def _content_end(node: Node) -> int:
    """Where a node's own text ends: a block collection's end mark lies at the next token,
    which may be the following key, so ask its last child instead."""
    if isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
        last = node.value[-1]
        if isinstance(last, tuple):
            key, value = last
            return max(_content_end(value), _end(key))
        return _content_end(last)
    return _end(node)


def _line_after(body: str, node: Node) -> int:
    """The start of the line after the one where ``node`` ends (block scalars end on a line
    start already), or the end of the text."""
    end = _content_end(node)
    if end > 0 and body[end - 1] == "\n":
        return end
    newline_at = body.find("\n", end)
    return len(body) if newline_at < 0 else newline_at + 1


def _insert_lines(body: str, position: int, lines: list[str], newline: str) -> str:
    text = "".join(line + newline for line in lines)
    if position == len(body) and body and not body.endswith("\n"):
        text = newline + text[: -len(newline)]  # the file had no final newline: keep it so
    return body[:position] + text + body[position:]
