"""What a scan learns about a file that a rewrite of the same text needs: compact, no nodes.

A run composes each changed file once for the scan; the rewrite splices at the spans the scan
recorded and composes only the new text. Its proof that nothing else changed is the *shape*:
a hash of a canonical depth-first serialization of every document, where a node seen for the
first time emits its kind, tag, scalar value or number of children, a node seen again (an
alias) emits the index of its first visit, and every target's scalar emits a placeholder. Two
graphs serialize alike exactly when ``verify.first_difference``, which pairs nodes by identity,
finds no difference but at those scalars; the rewrite then checks each of them by hand. A scan
keeps a few hundred bytes per file instead of its node graph (5,000 files must fit in RSS).

Where every target's scalar is one whose edit the rewrite can prove token for token
(``one_token``: a one-line string, plain in a block or quoted), the digest is not computed: the
walk still finds the aliases and repeated keys, and an edit the proof does not cover after all
(an odd new value) goes the composing way, as a file without facts does.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

from imagebot.manifest import nodes
from imagebot.manifest.compose import STR_TAG, MappingNode, Node, ScalarNode

SlotKey = tuple[int, nodes.YamlPath]  # (document, yaml_path), as a Target names its value


class ScalarSpan(NamedTuple):
    """What a splice needs of a scalar: where its content is in the text, its style and the
    value it reads as. A scan keeps these so a rewrite need not compose again. Here and not in
    ``splice``: a scan holds them, and only a rewrite needs the splicing (which a run's parent
    process may never do); a NamedTuple because a frozen dataclass costs ~8x as much to define."""

    start: int
    end: int
    style: str
    value: str


class SlotFact(NamedTuple):
    """One target's scalar, at ``path`` in ``document``: ``visit`` is its first-visit index in
    the shape walk (two paths to one anchored scalar share it); ``uses`` counts the logical
    places it is used in its document (None when the document has no alias or merge key, where
    each node has one place)."""

    document: int
    path: nodes.YamlPath
    span: ScalarSpan
    visit: int
    tag: str
    in_flow: bool
    uses: int | None


class FileFacts(NamedTuple):
    """The facts of one scanned text: its digest (the rewrite must be given the very text),
    its shape, each target's scalar, and the documents a rewrite refuses (a repeated key;
    their targets' scalars are placeholders all the same). NamedTuples, as ``ScalarSpan``:
    cheap to define on the run's import path, and compact to hold."""

    text: bytes
    shape: bytes  # b"" when not computed (every slot ``one_token``)
    # A tuple, not a dict by key: most files hold one or two targets, and a small dict costs
    # ~200 bytes; the rewrite builds it. ~450 bytes a file in all.
    slots: tuple[SlotFact, ...]
    refused: tuple[int, ...] = ()

    def of(self, text: str) -> Mapping[SlotKey, SlotFact] | None:
        """The slots by key, when ``text`` is the text these facts were taken from."""
        if text_digest(text) != self.text:
            return None
        return {(slot.document, slot.path): slot for slot in self.slots}


def text_digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class Walked(NamedTuple):
    """What the one walk of a scanned file finds: its facts (None when no key leads to a
    scalar) and, per document, the first key repeated in one of its mappings (the scan's
    ``nodes.duplicate_key``, found on the same walk)."""

    facts: FileFacts | None
    repeated: dict[int, ScalarNode]


def file_facts(text: str, body: str, roots: Sequence[Node], keys: Sequence[SlotKey]) -> Walked:
    """The facts of ``text`` (``body`` is it without a BOM, ``roots`` its documents) for the
    values at ``keys`` (paths that lead to no scalar are left out), and its repeated keys.
    No key, no walk: a file without a target has nothing to rewrite or refuse."""
    if not keys:
        return Walked(None, {})
    found: dict[SlotKey, tuple[ScalarNode, bool]] = {}
    for document, path in keys:
        if not 0 <= document < len(roots) or not path or (document, path) in found:
            continue
        parent = nodes.resolve_path(roots[document], path[:-1])
        node = nodes.resolve_path(parent, path[-1:]) if parent is not None else None
        if isinstance(node, ScalarNode):
            found[document, path] = node, bool(getattr(parent, "flow_style", False))
    spans = {
        id(node): ScalarSpan(
            nodes.content_start(body, node), int(node.end_mark.index), node.style or "", node.value
        )
        for node, _ in found.values()
    }
    provable = all(
        one_token(body, spans[id(node)], in_flow=in_flow, tag=str(node.tag))
        for node, in_flow in found.values()
    )
    repeated: dict[int, ScalarNode] = {}
    digest, at, aliased = shape(
        roots, ids=spans.keys(), repeated=repeated, digest=bool(found) and not provable
    )
    if not found:
        return Walked(None, repeated)
    uses = _uses(roots, found, aliased if "<<" not in body else range(len(roots)))
    index_of = {id(node): index for index, node in at.items()}
    slots = tuple(
        SlotFact(
            document,
            path,
            spans[id(node)],
            index_of[id(node)],
            sys.intern(str(node.tag)),  # shared, not one copy a file
            in_flow,
            uses.get(id(node)),
        )
        for (document, path), (node, in_flow) in found.items()
    )
    return Walked(FileFacts(text_digest(text), digest, slots), repeated)


def one_token(body: str, span: ScalarSpan, *, in_flow: bool, tag: str) -> bool:
    """True for a scalar whose every edit to a reference the rewrite can prove (see
    ``rewrite_facts``): a string on one line, not at the start of one, plain in a block (its
    text exactly its value) or quoted."""
    if tag != STR_TAG or span.start < 1 or body[span.start - 1] in nodes.LINE_BREAKS:
        return False
    raw = body[span.start : span.end]
    if any(char in raw for char in nodes.LINE_BREAKS):
        return False
    if span.style == "":
        return not in_flow and raw == span.value
    if span.style in ("'", '"'):
        return len(raw) >= 2 and raw[0] == span.style and raw[-1] == span.style
    return False


def _uses(
    roots: Sequence[Node],
    found: Mapping[SlotKey, tuple[ScalarNode, bool]],
    maybe: Collection[int],
) -> dict[int, int]:
    """How many places use each found scalar, in the documents with an alias or merge key
    (only those in ``maybe`` can have one: a node reached twice, or ``<<`` in the text)."""
    counted: dict[int, int] = {}
    for document in sorted({document for document, _ in found if document in maybe}):
        root = roots[document]
        if nodes.has_aliases(root):
            mine: list[Node] = [node for (d, _), (node, _) in found.items() if d == document]
            counted.update(nodes.count_uses(root, mine))
    return counted


def shape(
    roots: Sequence[Node],
    *,
    ids: Collection[int] = (),
    indexes: Collection[int] = (),
    repeated: dict[int, ScalarNode] | None = None,
    digest: bool = True,
) -> tuple[bytes, dict[int, ScalarNode], set[int]]:
    """The shape digest of ``roots`` with a placeholder for each scalar whose ``id()`` is in
    ``ids`` or whose first-visit index is in ``indexes`` (b"" unless ``digest``); those scalars
    by index; and the documents where some node is reached twice (an alias). ``repeated`` is
    filled with each document's first repeated key, in the order ``nodes.duplicate_key`` finds
    it.

    The serialization is a flat list: an int is a back-reference, ``"p"`` a placeholder, and
    ``"s"``/``"m"``/``"q"`` (scalar, mapping, sequence) are followed by the tag and the value or
    the number of children. ``repr`` of it is unambiguous, so equal digests mean equal graphs.
    """
    out: list[object] = [len(roots)]
    seen: dict[int, int] = {}
    at: dict[int, ScalarNode] = {}
    aliased: set[int] = set()
    for document, root in enumerate(roots):
        stack: list[Node] = [root]
        while stack:
            node = stack.pop()
            key = id(node)
            index = seen.get(key)
            if index is not None:
                out.append(index)
                aliased.add(document)
                continue
            index = seen[key] = len(seen)
            tag = _tag_of(node) if digest else None
            if isinstance(node, ScalarNode):
                if key in ids or index in indexes:
                    at[index] = node
                    out.append("p")
                elif digest:
                    out.extend(("s", tag, node.value))
            elif isinstance(node, MappingNode):
                out.extend(("m", tag, len(node.value)))
                if repeated is not None and document not in repeated:
                    key_node = nodes.repeated_key(node)
                    if key_node is not None:
                        repeated[document] = key_node
                for pair in reversed(node.value):
                    stack.extend(reversed(pair))
            else:
                out.extend(("q", tag, len(node.value)))
                stack.extend(reversed(node.value))
    if not digest:
        return b"", at, aliased
    hashed = hashlib.blake2b(repr(out).encode("utf-8", "surrogatepass"), digest_size=16)
    return hashed.digest(), at, aliased


def _tag_of(node: Node) -> object:
    """The tag as ``node.tag`` spells it costs two Python calls a node; its parts are plain
    attributes, and equal parts spell equal tags (a suffix alone is a str, a handle and its
    spelling a tuple: the two never compare equal)."""
    parts = node.ctag
    return parts.suffix if parts.handle is None else (parts.handle, str(parts))
