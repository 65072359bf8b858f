"""A small, safe template language for commit messages and push-branch names.

``{name}`` inserts a field, ``{{`` and ``}}`` are literal braces, and ``{changes:...}`` repeats
its inner text once per change with that change's fields. Field names are checked against a
fixed set when the template is parsed, so a typo fails loudly and no template can reach Python
objects, attributes or code (unlike ``str.format`` or Jinja). Knows nothing about Git or Changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence, Set

from imagebot.errors import ConfigError
from imagebot.records import record

_NAME = re.compile(r"[a-z_]+")


@record
class Placeholder:
    """``{name}``, or ``{name:body}`` when ``body`` is not None (a repeated section)."""

    name: str
    body: tuple[Piece, ...] | None = None


Piece = str | Placeholder


@record
class Vocabulary:
    """The names a template may use: scalars, and sections with the names inside each item."""

    scalars: Set[str]
    sections: Mapping[str, Set[str]]


def parse(template: str, vocabulary: Vocabulary, *, what: str) -> tuple[Piece, ...]:
    """Parse ``template`` or raise ``ConfigError`` naming ``what`` and the column at fault."""
    parser = _Parser(template, what)
    nodes = parser.nodes(vocabulary.scalars, vocabulary, inside=None)
    return tuple(nodes)


def render(
    nodes: Sequence[Piece],
    scalars: Mapping[str, str],
    sections: Mapping[str, Sequence[Mapping[str, str]]],
) -> str:
    """Fill parsed ``nodes`` in; every name was checked by ``parse``, so lookups cannot fail."""
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif node.body is None:
            out.append(scalars[node.name])
        else:
            out.extend(render(node.body, item, {}) for item in sections[node.name])
    return "".join(out)


class _Parser:
    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self.pos = 0

    def fail(self, reason: str, at: int | None = None) -> ConfigError:
        column = (self.pos if at is None else at) + 1
        return ConfigError(f"{self.what}, column {column}: {reason}")

    def nodes(self, names: Set[str], vocabulary: Vocabulary, *, inside: str | None) -> list[Piece]:
        out: list[Piece] = []
        literal: list[str] = []
        text = self.text
        while self.pos < len(text):
            if text.startswith("{{", self.pos):
                literal.append("{")
                self.pos += 2
            elif text[self.pos] == "{":
                if literal:
                    out.append("".join(literal))
                    literal.clear()
                out.append(self.field(names, vocabulary, inside=inside))
            elif text[self.pos] == "}":
                # Inside a section a single "}" always closes it, so "}}" there is not an escape.
                if inside is not None:
                    break
                if not text.startswith("}}", self.pos):
                    raise self.fail("'}' without a matching '{' (write '}}' for a literal brace)")
                literal.append("}")
                self.pos += 2
            else:
                literal.append(text[self.pos])
                self.pos += 1
        else:
            if inside is not None:
                raise self.fail(f"section {{{inside}:...}} is not closed with '}}'")
        if literal:
            out.append("".join(literal))
        return out

    def field(self, names: Set[str], vocabulary: Vocabulary, *, inside: str | None) -> Placeholder:
        start = self.pos
        self.pos += 1  # the opening brace
        match = _NAME.match(self.text, self.pos)
        if match is None:
            raise self.fail(
                "expected a field name after '{' (write '{{' for a literal brace)", start
            )
        name = match.group()
        self.pos = match.end()
        if self.text.startswith("}", self.pos):
            if name not in names:
                raise self.fail(f"unknown field {{{name}}}; known: {_known(names)}", start)
            self.pos += 1
            return Placeholder(name)
        if not self.text.startswith(":", self.pos):
            raise self.fail(f"expected '}}' or ':' after {{{name}", start)
        if inside is not None or name not in vocabulary.sections:
            sections = _known(vocabulary.sections.keys()) if inside is None else "none in here"
            raise self.fail(f"{{{name}:...}} is not a section; sections: {sections}", start)
        self.pos += 1
        body = self.nodes(vocabulary.sections[name], vocabulary, inside=name)
        self.pos += 1  # the closing brace, which nodes() stopped at
        return Placeholder(name, tuple(body))


def _known(names: Iterable[str]) -> str:
    return ", ".join(f"{{{name}}}" for name in sorted(names))
