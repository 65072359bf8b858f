"""Set and remove one workload's automation annotations in YAML text, byte-exactly.

Locates the workload with the composer, splices entries into the original text in the style
around them (see ``annotate_splice.py``), and re-composes to prove that nothing but the intended
annotations changed. It speaks in settings (``automated``, ``tag.flask``) and keeps the
workload's prefix (``fluxcd.io/`` stays ``fluxcd.io/``). It decides no policy and reads no files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from imagebot.errors import ManifestError, RewriteError
from imagebot.manifest import annotate_splice as splice
from imagebot.manifest import nodes
from imagebot.manifest.annotations import FILTER_PREFIX, PREFIXES
from imagebot.manifest.compose import (
    STR_TAG,
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    compose_documents,
    split_bom,
)
from imagebot.manifest.workload_index import Located, WorkloadId, locate_workloads

DEFAULT_PREFIX = "imagebot.io/"


@dataclass(frozen=True, slots=True)
class SetAnnotation:
    """Give the setting ``name`` (``automated``, ``locked_msg``, ``tag.flask``) the string
    ``value``, or remove every spelling of it when ``value`` is None."""

    name: str
    value: str | None


def spellings(name: str) -> tuple[str, ...]:
    """Every key that spells ``name``, in the order in which readers prefer them."""
    keys = tuple(prefix + name for prefix in PREFIXES)
    if name.startswith("tag."):
        keys += (FILTER_PREFIX + name.removeprefix("tag."),)
    return keys


def prefix_of(keys: Iterable[str]) -> str:
    """The prefix a workload already writes its automation with; imagebot.io/ for a new one."""
    for key in keys:
        if key.startswith(FILTER_PREFIX):
            return "fluxcd.io/"
        for prefix in PREFIXES:
            if key.startswith(prefix):
                return prefix
    return DEFAULT_PREFIX


def edit_annotations(
    text: str, workload: WorkloadId, edits: Sequence[SetAnnotation], *, file: str = "<text>"
) -> str:
    """``text`` with ``edits`` applied to ``workload``'s annotations; unchanged when they are
    already so. Raises ManifestError when the workload is not there exactly once or its
    metadata cannot be edited safely, RewriteError when the result would change anything else."""
    bom, body = split_bom(text)
    before = compose_documents(body)
    located = _locate(before, workload, file)
    current = _annotation_pairs(located, file)
    keys = [key for key, _ in current]
    wanted = dict(current)
    for key, value in _concrete(keys, edits):
        if wanted.get(key) == value or (value is None and key not in wanted):
            continue
        body = _apply(body, workload, key, value, file)
        if value is None:
            del wanted[key]
        else:
            wanted[key] = value
    if body == split_bom(text)[1]:
        return text
    _verify(before, body, workload, wanted, file)
    return bom + body


def _concrete(keys: list[str], edits: Sequence[SetAnnotation]) -> list[tuple[str, str | None]]:
    """Settings -> key operations: edit the preferred existing spelling, drop the others."""
    prefix = prefix_of(keys)
    operations: list[tuple[str, str | None]] = []
    for edit in edits:
        present = [key for key in spellings(edit.name) if key in keys]
        if edit.value is None:
            operations.extend((key, None) for key in present)
            continue
        operations.append((present[0] if present else prefix + edit.name, edit.value))
        operations.extend((key, None) for key in present[1:])
    return operations


def _locate(documents: Sequence[Node], workload: WorkloadId, file: str) -> Located:
    found = [w for w in locate_workloads(documents) if w.id == workload]
    if len(found) != 1:
        count = "is not" if not found else f"appears {len(found)} times"
        raise ManifestError(f"{file}: workload {workload} {count} in this file")
    return found[0]


def _annotation_pairs(located: Located, file: str) -> list[tuple[str, str]]:
    metadata = nodes.get(located.node, "metadata")
    annotations = nodes.get(metadata, "annotations")
    if annotations is None or (
        isinstance(annotations, ScalarNode) and annotations.value in ("", "~", "null")
    ):
        return []
    if not isinstance(annotations, MappingNode):
        raise ManifestError(f"{file}: metadata.annotations of {located.id} is not a mapping")
    pairs: list[tuple[str, str]] = []
    for key, value in annotations.value:
        if not isinstance(key, ScalarNode) or not isinstance(value, ScalarNode):
            line = key.start_mark.line + 1
            raise ManifestError(f"{file}:{line}: annotations of {located.id} must be strings")
        if any(key.value == seen for seen, _ in pairs):
            line = key.start_mark.line + 1
            raise ManifestError(f"{file}:{line}: annotation {key.value} appears twice; keep one")
        pairs.append((str(key.value), str(value.value)))
    return pairs


def _apply(body: str, workload: WorkloadId, key: str, value: str | None, file: str) -> str:
    """One key operation on fresh marks: compose, find, splice."""
    documents = compose_documents(body)
    located = _locate(documents, workload, file)
    metadata_entry = _entry(located.node, "metadata")
    metadata_key, metadata = metadata_entry or (None, None)
    if metadata_key is None or not isinstance(metadata, MappingNode):
        raise ManifestError(f"{file}: {workload} has no metadata mapping to annotate")
    splice.refuse_alias(metadata_key, metadata, f"{file}: metadata of {workload}")
    entry = _entry(metadata, "annotations")
    shared = [metadata] + ([entry[1]] if entry else [])
    uses = nodes.count_uses(documents[located.document], shared)
    if any(count != 1 for count in uses.values()):
        raise ManifestError(
            f"{file}: the metadata of {workload} is anchored and used elsewhere too; an edit "
            "would change every use, so edit it by hand"
        )
    if entry is not None:
        splice.refuse_alias(entry[0], entry[1], f"{file}: annotations of {workload}")
        if not isinstance(entry[1], MappingNode | ScalarNode):
            raise ManifestError(f"{file}: metadata.annotations of {workload} is not a mapping")
    if value is None:
        return _remove(body, metadata, entry, key)
    if entry is None:
        return splice.add_entry(body, metadata, "annotations", {key: value}, parent=metadata_key)
    annotations_key, annotations = entry
    if isinstance(annotations, ScalarNode):  # `annotations:` with no entries (null)
        step = int(metadata.value[0][0].start_mark.column) - int(metadata_key.start_mark.column)
        return splice.fill_null(
            body, annotations_key, annotations, {key: value}, parent=metadata, step=step
        )
    assert isinstance(annotations, MappingNode)  # noqa: S101 - checked above
    index = _index_of(annotations, key)
    if index is None:
        return splice.add_entry(body, annotations, key, value, parent=annotations_key)
    return splice.replace_value(body, annotations, index, value)


def _remove(
    body: str, metadata: MappingNode, entry: tuple[ScalarNode, Node] | None, key: str
) -> str:
    annotations_key, annotations = entry or (None, None)
    if not isinstance(annotations, MappingNode):
        return body
    index = _index_of(annotations, key)
    if index is None:
        return body
    if len(annotations.value) == 1 and not annotations.flow_style:
        # An empty block mapping cannot be written: drop `annotations:` itself, which also makes
        # automate followed by deautomate give back the original file.
        own = next(i for i, (k, _) in enumerate(metadata.value) if k is annotations_key)
        return splice.remove_entry(body, metadata, own)
    return splice.remove_entry(body, annotations, index)


def _entry(mapping: Node, key: str) -> tuple[ScalarNode, Node] | None:
    if not isinstance(mapping, MappingNode):
        return None
    found = None
    for k, v in mapping.value:
        if isinstance(k, ScalarNode) and k.value == key:
            found = (k, v)
    return found


def _index_of(mapping: MappingNode, key: str) -> int | None:
    return next((i for i, (k, _) in enumerate(mapping.value) if nodes.text(k) == key), None)


def _verify(
    before: Sequence[Node], body: str, workload: WorkloadId, wanted: dict[str, str], file: str
) -> None:
    """Re-compose the edited text: every document must be as before but the annotations, and
    the annotations exactly ``wanted``, each a string."""
    try:
        after = compose_documents(body)
    except ManifestError as error:
        raise RewriteError(
            f"{file}: the edit would break the YAML ({error}); nothing written"
        ) from error
    located = _locate(after, workload, file) if len(after) == len(before) else None
    if located is None:
        raise RewriteError(
            f"{file}: the edit would change the number of documents; nothing written"
        )
    old_metadata = nodes.get(_locate(before, workload, file).node, "metadata")
    new_metadata = nodes.get(located.node, "metadata")
    for old, new in zip(before, after, strict=True):
        if _shape(old, old_metadata, {}) != _shape(new, new_metadata, {}):
            line = old.start_mark.line + 1
            raise RewriteError(
                f"{file}:{line}: the annotation edit would change other content; nothing written"
            )
    annotations = nodes.get(new_metadata, "annotations")
    got: dict[str, str] = {}
    if isinstance(annotations, MappingNode):
        for key, value in annotations.value:
            if not isinstance(value, ScalarNode) or (key.value in wanted and value.tag != STR_TAG):
                raise RewriteError(f"{file}: annotation {key.value} would not be a string")
            got[str(key.value)] = str(value.value)
    if got != wanted:
        raise RewriteError(f"{file}: the annotations of {workload} came out wrong; nothing written")


Shape = tuple[object, ...]


def _shape(node: Node, skip_in: Node | None, memo: dict[int, Shape]) -> Shape:
    """A comparable picture of a node graph; ``skip_in``'s annotations entry is left out."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = ("cycle",)  # an alias back into its own anchor: compare as a marker
    shape: Shape
    if isinstance(node, ScalarNode):
        shape = ("s", node.tag, node.value)
    elif isinstance(node, SequenceNode):
        shape = ("q", node.tag, tuple(_shape(item, skip_in, memo) for item in node.value))
    elif isinstance(node, MappingNode):
        pairs = [
            (k, v)
            for k, v in node.value
            if not (node is skip_in and isinstance(k, ScalarNode) and k.value == "annotations")
        ]
        shape = (
            "m",
            node.tag,
            tuple((_shape(k, skip_in, memo), _shape(v, skip_in, memo)) for k, v in pairs),
        )
    else:  # pragma: no cover - the composer makes only these three
        shape = ("?", node.tag)
    memo[id(node)] = shape
    return shape
