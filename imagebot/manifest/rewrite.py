"""Rewrite image values in the text of one file, and prove nothing else changed.

Each update finds its target again by document and path in the text given (which may be fresher
than the scan), checks the value is still the one scanned, splices the new value in, composes the
result and compares node graphs (``verify``): only the targeted scalars may differ. Given the
scan's ``facts`` of that very text, the old text is not composed again: the splices go at the
recorded spans and the new text's shape must equal the recorded one (``facts``); anything the
facts cannot settle (a refusal, a shape that differs) goes the composing way, so every error
reads as it always did. Pure: no file system.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from imagebot.errors import RewriteError
from imagebot.manifest import nodes
from imagebot.manifest.compose import (
    ComposeError,
    Node,
    ScalarNode,
    compose_documents,
    held_gc,
    split_bom,
)
from imagebot.manifest.facts import FileFacts
from imagebot.manifest.rewrite_facts import rewrite_with_facts
from imagebot.manifest.splice import Splice, apply_splices, splice_scalar
from imagebot.manifest.update import Update, expected_text, new_value
from imagebot.manifest.verify import first_difference
from imagebot.model import Target

__all__ = ["Update", "new_value", "rewrite_text"]


@dataclass(slots=True)
class _Edit:
    node: ScalarNode
    document: int
    value: str
    where: str
    in_flow: bool
    uses: int = 1


def rewrite_text(
    text: str, file: str, updates: Sequence[Update], facts: FileFacts | None = None
) -> str:
    """``text`` with every update applied, or RewriteError naming file:line and why.

    ``facts`` are the scan's of ``text``: when they cover every update, the old text is not
    composed again (``rewrite_facts``); the result is the same either way."""
    if not updates:
        return text
    with held_gc():
        if facts is not None:
            done = rewrite_with_facts(text, file, updates, facts)
            if done is not None:
                return done
        return _rewrite_text(text, file, updates)


def _rewrite_text(text: str, file: str, updates: Sequence[Update]) -> str:
    prefix, body = split_bom(text)
    try:
        roots = compose_documents(body)
    except ComposeError as error:
        raise RewriteError(f"{file}:{error.line or 1}: cannot rewrite: {error}") from error
    edits: dict[int, _Edit] = {}
    seen: set[tuple[int, nodes.YamlPath]] = set()
    for update in updates:
        where = update.target.location
        if (where.document, update.target.yaml_path) in seen:
            continue
        seen.add((where.document, update.target.yaml_path))
        node, parent = _relocate(roots, update.target, file)
        value = new_value(update, str(node.value), f"{file}:{where.line}")
        edit = edits.get(id(node))
        if edit is not None:
            if edit.value != value:
                raise RewriteError(
                    f"{edit.where}: one anchored value is used by targets "
                    f"that want {edit.value!r} and {value!r}; give each its own value"
                )
            edit.uses += 1
            continue
        in_flow = bool(getattr(parent, "flow_style", False))
        edits[id(node)] = _Edit(node, where.document, value, f"{file}:{where.line}", in_flow)
    changed = {key: edit for key, edit in edits.items() if edit.value != edit.node.value}
    if not changed:
        return text
    _check_documents(roots, list(changed.values()), edits, file)
    splices: list[Splice] = [
        splice_scalar(body, e.node, e.value, in_flow=e.in_flow, where=e.where)
        for e in changed.values()
    ]
    new_body = apply_splices(body, splices, file)
    _verify(roots, new_body, changed, file)
    return prefix + new_body


def _relocate(roots: list[Node], target: Target, file: str) -> tuple[ScalarNode, Node | None]:
    where = f"{file}:{target.location.line}"
    document = target.location.document
    root = roots[document] if 0 <= document < len(roots) else None
    node = nodes.resolve_path(root, target.yaml_path) if root is not None else None
    if not isinstance(node, ScalarNode):
        raise RewriteError(
            f"{where}: the image of {target.workload} is no longer at "
            f"{'.'.join(map(str, target.yaml_path))}; the file changed since it was scanned"
        )
    expected = target.current_value or expected_text(target)
    if node.value != expected:
        raise RewriteError(
            f"{where}: {target.workload} now has {node.value!r} there, not {expected!r}; "
            f"the file changed since it was scanned"
        )
    parent = nodes.resolve_path(root, target.yaml_path[:-1]) if root is not None else None
    return node, parent


def _check_documents(
    roots: list[Node], changed: list[_Edit], edits: dict[int, _Edit], file: str
) -> None:
    """Refuse documents with repeated keys, and anchors that serve values we do not target."""
    for document in sorted({edit.document for edit in changed}):
        root = roots[document]
        duplicate = nodes.duplicate_key(root)
        if duplicate is not None:
            raise RewriteError(
                f"{file}:{duplicate.start_mark.line + 1}: key {duplicate.value!r} appears twice "
                f"in one mapping; remove one before imagebot rewrites this document"
            )
        if not nodes.has_aliases(root):
            continue
        mine = [e for e in changed if e.document == document]
        uses = nodes.count_uses(root, [e.node for e in mine])
        for edit in mine:
            used = uses[id(edit.node)]
            if used != edits[id(edit.node)].uses:
                places = "a cycle" if used < 0 else f"{used} places"
                raise RewriteError(
                    f"{edit.where}: the image value is an anchor used in {places}, and only "
                    f"{edit.uses} of them are images to update; give each use its own value"
                )


def _verify(old_roots: list[Node], new_body: str, changed: dict[int, _Edit], file: str) -> None:
    """Compose the result and compare: only the edited scalars may differ, each as a string."""
    try:
        new_roots = compose_documents(new_body)
    except ComposeError as error:
        raise RewriteError(
            f"{file}:{error.line or 1}: the rewritten text is not valid YAML; left unchanged"
        ) from error
    edited = {key: edit.value for key, edit in changed.items()}
    difference = first_difference(old_roots, new_roots, edited=edited)
    if difference is None:
        return
    if difference.line is None:
        raise RewriteError(f"{file}: the rewrite changed the number of documents; left unchanged")
    raise RewriteError(
        f"{file}:{difference.line}: the rewrite would change more than the image "
        f"({difference.why}); the file was left unchanged"
    )
