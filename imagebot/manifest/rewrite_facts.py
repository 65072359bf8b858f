"""Rewrite one file at the spans its scan recorded, composing at most the new text.

The scan's ``facts`` of the very text stand in for its node graph: each update's scalar is
found by (document, path) among the recorded values, checked to still hold what was scanned,
and spliced with the same function the composing path uses. Every refusal of the composing path
(``rewrite``) has its counterpart here, but this path never refuses: it answers None, and the
caller composes the old text and refuses with its usual file:line and why.

Most edits need no compose at all: a one-line string scalar rewritten with a value of reference
characters (``[A-Za-z0-9_./:@+-]``, not ending in ``:``), in its own style or double-quoted where
plain would read as another type, stays one token with the same ends in the same place, so the
new text composes to the scan's graph with only that value changed (``_same_token``;
``tests/test_manifest_facts.py`` checks that claim against composing, over generated texts).
The scan records no shape where it expects every edit to be proven so (``facts.one_token``).

Any other edit composes the new text once: its shape (``facts.shape``) must equal the scan's,
each edited scalar must read as its new string, and each other target's scalar as it did, which
is what ``verify.first_difference`` asks of the two graphs. A shape that differs, or none
recorded, is answered with None too, so the composing way decides and words any difference as
it always did.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

from imagebot.errors import RewriteError
from imagebot.manifest.compose import STR_TAG, ComposeError, compose_documents, split_bom
from imagebot.manifest.facts import FileFacts, SlotFact, SlotKey, one_token, shape
from imagebot.manifest.splice import Splice, apply_splices, splice_span
from imagebot.manifest.update import Update, expected_text, new_value


class _Edit:
    """One scalar's new value; ``uses`` counts the targets that reach it (a plain class: the
    run imports this module, and a dataclass costs more to define than it saves to write)."""

    __slots__ = ("slot", "uses", "value", "where")

    def __init__(self, slot: SlotFact, value: str, where: str) -> None:
        self.slot, self.value, self.where, self.uses = slot, value, where, 1


def rewrite_with_facts(
    text: str, file: str, updates: Sequence[Update], facts: FileFacts
) -> str | None:
    """``text`` with every update applied, or None when the composing path must decide (the
    facts are of another text or miss a value, or it would refuse, or the shape differs)."""
    slots = facts.of(text)
    if slots is None:
        return None
    edits = _edits(file, updates, slots, facts.refused)
    if edits is None:
        return None
    changed = {index: e for index, e in edits.items() if e.value != e.slot.span.value}
    if not changed:
        return text
    if any(e.slot.uses is not None and e.slot.uses != e.uses for e in changed.values()):
        return None  # an anchor used in places that are not all targets
    prefix, body = split_bom(text)
    try:
        splices = [
            (e, splice_span(body, e.slot.span, e.value, in_flow=e.slot.in_flow, where=e.where))
            for e in changed.values()
        ]
        new_body = apply_splices(body, [splice for _, splice in splices], file)
    except RewriteError:
        return None
    # Without a recorded shape (the scan expected every edit proven) the composing way decides.
    alike = all(_same_token(body, e, splice) for e, splice in splices) or (
        bool(facts.shape) and _same_shape(new_body, facts.shape, slots.values(), changed)
    )
    return prefix + new_body if alike else None


# What a reference or tag is made of: no quote, backslash, space, comment or flow indicator,
# no line break or control character, and not an indicator where a plain scalar starts.
_REFERENCE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./:@+-]*")


def _same_token(body: str, edit: _Edit, splice: Splice) -> bool:
    """True when ``splice`` provably leaves the text composing to the same graph, with only
    the edited scalar reading ``edit.value``: the old scalar was a one-line string not at the
    start of a line (``facts.one_token``), and the new one is written with characters that
    cannot end, open or escape anything, in the same style or, for a plain one that would read
    as another type (``0``, ``1.10``), double-quoted, so the scanner meets the same tokens with
    the same ends. Plain is kept only for a string under YAML 1.1 and 1.2 (``splice``), and a
    quoted scalar is a string: what follows a plain scalar in a block (a blank, a comment, a
    line break) cannot turn a quoted one into a key."""
    slot, value = edit.slot, edit.value
    if not _REFERENCE.fullmatch(value) or value.endswith(":"):
        return False
    if not one_token(body, slot.span, in_flow=slot.in_flow, tag=slot.tag):
        return False
    quote = slot.span.style
    return splice.text == quote + value + quote or (
        quote == "" and splice.text == '"' + value + '"'
    )


def _same_shape(
    new_body: str, old_shape: bytes, slots: Collection[SlotFact], changed: Mapping[int, _Edit]
) -> bool:
    """What ``first_difference`` asks: the graphs alike but at the targets' scalars, each
    edited one read as its new string, each other as it was."""
    try:
        new_roots = compose_documents(new_body)
    except ComposeError:
        return False
    digest, found, _ = shape(new_roots, indexes={slot.visit for slot in slots})
    if digest != old_shape:
        return False
    for slot in slots:
        node = found.get(slot.visit)
        edit = changed.get(slot.visit)
        wanted, tag = (edit.value, STR_TAG) if edit is not None else (slot.span.value, slot.tag)
        if node is None or node.value != wanted or node.tag != tag:
            return False
    return True


def _edits(
    file: str,
    updates: Sequence[Update],
    slots: Mapping[SlotKey, SlotFact],
    refused: tuple[int, ...],
) -> dict[int, _Edit] | None:
    """One edit per scalar (two targets through an alias share one), as ``rewrite`` makes
    them; None where it would refuse or a value is not among the facts."""
    edits: dict[int, _Edit] = {}
    seen: set[SlotKey] = set()
    for update in updates:
        target = update.target
        key = (target.location.document, target.yaml_path)
        if key in seen:
            continue
        seen.add(key)
        slot = slots.get(key)
        if slot is None or key[0] in refused:
            return None
        if slot.span.value != (target.current_value or expected_text(target)):
            return None
        where = f"{file}:{target.location.line}"
        try:
            value = new_value(update, slot.span.value, where)
        except RewriteError:
            return None
        edit = edits.get(slot.visit)
        if edit is None:
            edits[slot.visit] = _Edit(slot, value, where)
        elif edit.value != value:
            return None  # one anchored value wanted two ways
        else:
            edit.uses += 1
    return edits
