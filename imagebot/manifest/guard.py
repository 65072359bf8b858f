"""Refuse hostile YAML before and right after composing: too deep, cyclic, or an alias bomb.

libyaml's composer recurses once per nesting level in C (100,000 levels end the process with
signal 11) and ruamel's pure one in Python, so the depth is checked on parse events (which are
produced without recursion) before either composer runs, and only when a cheap bound on the text
says it could be deep. Once composed, a document whose anchors are used inside themselves, or
whose aliases and merge keys would expand past a budget, is refused: every later walk is then
linear. Pure: text and events in, findings out; the caller raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ruamel.yaml.events import (
    CollectionEndEvent,
    CollectionStartEvent,
    Event,
)
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from imagebot.records import record

# Kubernetes objects nest about 15 levels and Helm values rarely 40; 256 leaves room for both
# while keeping the pure composer (about two Python frames a level) far from the recursion limit.
MAX_DEPTH = 256
# An alias bomb: a document whose aliases and merge keys expand to more than this many nodes,
# and to more than EXPANSION_RATIO times the nodes actually written (a long list written out is
# no bomb). Go's yaml.v3, which kubectl reads with, refuses "excessive aliasing" the same way.
MAX_EXPANDED_NODES = 100_000
EXPANSION_RATIO = 10

# A block collection nested N levels starts at column N / 2 or more, and its line starts with
# that many indentation or compact-indicator characters (``- - key:``); a flow collection needs
# its own bracket. Text under both bounds cannot be deeper than MAX_DEPTH, and skips the events.
_DEEP_LINE = re.compile(rf"^[ \t?:-]{{{MAX_DEPTH // 4}}}", re.MULTILINE)


# An alias token starts with ``*`` where a node may start: after a space or a line start, a flow
# indicator, or the ``:`` after a quoted flow key (``{"a":*x}``), and goes on with an anchor
# character. A ``*`` inside a plain scalar (``semver:*``, ``glob:v*``) is none.
_ALIAS = re.compile(r"""(?:^|[\s\[{,]|["']:)\*[^\s\[\]{},]""", re.MULTILINE)
# libyaml reads an anchor name of ASCII letters, digits, ``-`` and ``_`` only, and refuses the
# text otherwise: in what it composed, ``"*/5 * * * *"`` (a CronJob's schedule) holds no alias.
_LIBYAML_ALIAS = re.compile(r"""(?:^|[\s\[{,]|["']:)\*[0-9A-Za-z_-]""", re.MULTILINE)


@record
class Unsafe:
    """Why a text or document is refused, and the 1-based line where it shows."""

    reason: str
    line: int | None


def may_be_deep(body: str) -> bool:
    """False when ``body`` certainly nests less than MAX_DEPTH: no event pass needed."""
    brackets = body.count("[") + body.count("{")
    return brackets >= MAX_DEPTH // 2 or _DEEP_LINE.search(body) is not None


def may_alias(body: str, *, libyaml: bool = False) -> bool:
    """False when ``body`` certainly holds no alias: its graph is then a tree, never a cycle or
    a bomb, and the walk is skipped (policies such as ``semver:*`` put a ``*`` in most files).
    ``libyaml``: the text is one libyaml composed, whose anchor names are narrower."""
    pattern = _LIBYAML_ALIAS if libyaml else _ALIAS
    return "*" in body and pattern.search(body) is not None


def too_deep(events: Iterable[Event]) -> Unsafe | None:
    """The first collection nested deeper than MAX_DEPTH, stopping there: a parser's per-token
    cost grows with the depth, so reading on would be quadratic."""
    depth = 0
    for event in events:
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark is not None else None
                return Unsafe(f"nested deeper than {MAX_DEPTH} levels", line)
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
    return None


def unsafe_graph(root: Node) -> Unsafe | None:
    """A cycle (an anchor used inside its own value, merge keys included) or an alias bomb in
    one composed document; None for a tree or a modest DAG. One walk, each node once."""
    expanded: dict[int, int] = {}
    on_path: set[int] = set()
    cap = MAX_EXPANDED_NODES * EXPANSION_RATIO * 1000  # keeps the sums small integers
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            size = 1 + sum(expanded[id(child)] for child in _children(node))
            expanded[key] = min(size, cap)
            continue
        if key in expanded:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                line = int(child.start_mark.line) + 1
                return Unsafe("an anchor is used inside its own value (a cycle)", line)
            if id(child) not in expanded:
                stack.append((child, False))
    total = expanded[id(root)]
    if total > max(MAX_EXPANDED_NODES, EXPANSION_RATIO * len(expanded)):
        line = int(root.start_mark.line) + 1
        written = len(expanded)
        return Unsafe(
            f"aliases and merge keys expand to {total:,} nodes or more from {written:,} "
            f"written (an alias bomb)",
            line,
        )
    return None


def _children(node: Node) -> Iterator[Node]:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, SequenceNode):
        yield from node.value
