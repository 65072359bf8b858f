"""Set and remove one workload's automation annotations in YAML text, byte-exactly.

Locates the workload with the composer, splices entries into the original text in the style
around them (see ``annotate_splice.py``), and re-composes to prove that nothing but the intended
annotations changed (``verify``). It speaks in settings (``automated``, ``tag.flask``) and keeps
the workload's prefix (``fluxcd.io/`` stays ``fluxcd.io/``); the keys are ``annotations``'.
It decides no policy and reads no files.
"""

from __future__ import annotations

from collections.abc import Sequence

from imagebot.errors import ManifestError, RewriteError
from imagebot.manifest import annotate_splice as splice
from imagebot.manifest import kustomize, nodes
from imagebot.manifest.annotations import prefix_of, spellings
from imagebot.manifest.compose import (
    STR_TAG,
    MappingNode,
    Node,
    ScalarNode,
    compose_documents,
    split_bom,
)
from imagebot.manifest.objects import Object, locate_workloads
from imagebot.manifest.verify import first_difference
from imagebot.model import WorkloadId
from imagebot.records import record


@record
class SetAnnotation:
    """Give the setting ``name`` (``automated``, ``locked_msg``, ``tag.flask``) the string
    ``value``, or remove every spelling of it when ``value`` is None."""

    name: str
    value: str | None


def edit_annotations(
    text: str, workload: WorkloadId, edits: Sequence[SetAnnotation], *, file: str = "<text>"
) -> str:
    """``text`` with ``edits`` applied to ``workload``'s annotations; unchanged when they are
    already so. Raises ManifestError when the workload is not there exactly once or its
    metadata cannot be edited safely, RewriteError when the result would change anything else."""
    bom, body = split_bom(text)
    before = compose_documents(body)
    located = _locate(before, workload, file)
    current = _annotation_pairs(located, workload, file)
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


def _locate(documents: Sequence[Node], workload: WorkloadId, file: str) -> Object:
    found = [o for identity, o in locate_workloads(documents) if identity == workload]
    # A Kustomization is a workload too (its annotations automate its images entries).
    found += [
        Object(index, (), root)
        for index, root in enumerate(documents)
        if isinstance(root, MappingNode) and kustomize.workload_id(root, file) == workload
    ]
    if len(found) != 1:
        count = "is not" if not found else f"appears {len(found)} times"
        raise ManifestError(f"{file}: workload {workload} {count} in this file")
    return found[0]


def _annotation_pairs(located: Object, workload: WorkloadId, file: str) -> list[tuple[str, str]]:
    metadata = nodes.get(located.node, "metadata")
    annotations = nodes.get(metadata, "annotations")
    if annotations is None or (
        isinstance(annotations, ScalarNode) and annotations.value in ("", "~", "null")
    ):
        return []
    if not isinstance(annotations, MappingNode):
        raise ManifestError(f"{file}: metadata.annotations of {workload} is not a mapping")
    pairs: list[tuple[str, str]] = []
    for key, value in annotations.value:
        if not isinstance(key, ScalarNode) or not isinstance(value, ScalarNode):
            line = key.start_mark.line + 1
            raise ManifestError(f"{file}:{line}: annotations of {workload} must be strings")
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
    """Re-compose the edited text: every document must be as before but the workload's
    annotations, and those exactly ``wanted``, each a string."""
    try:
        after = compose_documents(body)
    except ManifestError as error:
        raise RewriteError(
            f"{file}: the edit would break the YAML ({error}); nothing written"
        ) from error
    old_metadata = nodes.get(_locate(before, workload, file).node, "metadata")
    skipped = {id(old_metadata): "annotations"} if old_metadata is not None else {}
    difference = first_difference(before, after, skipped=skipped)
    if difference is not None and difference.line is None:
        raise RewriteError(
            f"{file}: the edit would change the number of documents; nothing written"
        )
    if difference is not None:
        raise RewriteError(
            f"{file}:{difference.line}: the annotation edit would change other content "
            f"({difference.why}); nothing written"
        )
    new_metadata = nodes.get(_locate(after, workload, file).node, "metadata")
    annotations = nodes.get(new_metadata, "annotations")
    got: dict[str, str] = {}
    if isinstance(annotations, MappingNode):
        for key, value in annotations.value:
            if not isinstance(value, ScalarNode) or (key.value in wanted and value.tag != STR_TAG):
                raise RewriteError(f"{file}: annotation {key.value} would not be a string")
            got[str(key.value)] = str(value.value)
    if got != wanted:
        raise RewriteError(f"{file}: the annotations of {workload} came out wrong; nothing written")
