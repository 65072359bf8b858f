"""Prove that an edit changed nothing but what it meant to: the one "nothing else changed" check.

The image rewriter and the annotation editor both compose the text after their splices and call
``first_difference`` with the documents from before. Nodes are paired by identity, so an alias
must still point at the counterpart of its anchor (a copy with equal content is a difference);
kinds, tags and values must be equal everywhere, except the scalars the edit names, which must
read as their new string, and the mapping entries the edit names, which both sides leave out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from imagebot.manifest.compose import STR_TAG, MappingNode, Node, ScalarNode, SequenceNode
from imagebot.records import record


@record
class Difference:
    """The first thing that differs: ``line`` (1-based, in the new text) is None when whole
    documents were added or removed."""

    line: int | None
    why: str


def first_difference(
    before: Sequence[Node],
    after: Sequence[Node],
    *,
    edited: Mapping[int, str] | None = None,
    skipped: Mapping[int, str] | None = None,
) -> Difference | None:
    """None when ``after`` is ``before`` but for the intended edits.

    ``edited`` maps ``id()`` of a scalar in ``before`` to the string it must now hold;
    ``skipped`` maps ``id()`` of a mapping in ``before`` to the key of the entry left out of the
    comparison (``metadata`` -> ``annotations``, which the annotation editor checks itself).
    """
    if len(before) != len(after):
        return Difference(None, "the number of documents changed")
    pairing = _Pairing(edited or {}, skipped or {})
    for old_root, new_root in zip(before, after, strict=True):
        found = pairing.compare(old_root, new_root)
        if found is not None:
            return found
    return None


class _Pairing:
    """Old node -> new node and back, kept across documents (an alias never crosses one, but a
    node seen twice must have the same partner both times)."""

    def __init__(self, edited: Mapping[int, str], skipped: Mapping[int, str]) -> None:
        self.edited = edited
        self.skipped = skipped
        self.mapped: dict[int, Node] = {}
        self.reverse: dict[int, Node] = {}

    def compare(self, old_root: Node, new_root: Node) -> Difference | None:
        stack = [(old_root, new_root)]
        while stack:
            old, new = stack.pop()
            if id(old) in self.mapped or id(new) in self.reverse:
                if self.mapped.get(id(old)) is not new or self.reverse.get(id(new)) is not old:
                    return _at(new, "an alias now points elsewhere")
                continue
            self.mapped[id(old)], self.reverse[id(new)] = new, old
            children = self._children(old, new)
            if isinstance(children, Difference):
                return children
            stack.extend(children)
        return None

    def _children(self, old: Node, new: Node) -> list[tuple[Node, Node]] | Difference:
        why = self._why_different(old, new)
        if why is not None:
            return _at(new, why)
        if id(old) in self.edited or isinstance(old, ScalarNode):
            return []
        left_out = self.skipped.get(id(old))
        return list(zip(_children(old, left_out), _children(new, left_out), strict=True))

    def _why_different(self, old: Node, new: Node) -> str | None:
        if type(old) is not type(new):
            return "a node changed kind"
        wanted = self.edited.get(id(old))
        if wanted is not None:
            same = new.value == wanted and new.tag == STR_TAG
            return None if same else f"the new value reads as {new.value!r} ({new.tag})"
        if old.tag != new.tag:
            return f"a tag changed from {old.tag} to {new.tag}"
        if isinstance(old, ScalarNode):
            return None if old.value == new.value else f"{old.value!r} became {new.value!r}"
        left_out = self.skipped.get(id(old))
        if len(_children(old, left_out)) != len(_children(new, left_out)):
            return "a collection changed size"
        return None


def _children(node: Node, left_out: str | None) -> list[Node]:
    """A collection's nodes in order: a mapping's keys and values, but the entry left out."""
    if isinstance(node, SequenceNode):
        return list(node.value)
    if not isinstance(node, MappingNode):  # pragma: no cover - the composer makes only three
        return []
    return [
        part
        for key, value in node.value
        if left_out is None or not (isinstance(key, ScalarNode) and key.value == left_out)
        for part in (key, value)
    ]


def _at(node: Node, why: str) -> Difference:
    return Difference(int(node.start_mark.line) + 1, why)
