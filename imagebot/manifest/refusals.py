"""Which documents of a scanned file a rewrite must refuse: those whose target sits in a mapping
with a repeated key (appliers disagree about which copy wins), each reported as a problem.

With the facts asked for (``scan_file(with_facts=True)``), the one walk that takes them also
finds the repeated keys; otherwise each document with a target or marker is walked for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from imagebot.manifest import nodes
from imagebot.manifest.compose import Node, ScalarNode
from imagebot.manifest.context import DocumentContext
from imagebot.manifest.facts import FileFacts, file_facts
from imagebot.manifest.setters import SetterMark


def refused_documents(
    text: str,
    body: str,
    roots: list[Node],
    contexts: list[DocumentContext],
    marks: Sequence[SetterMark],
    *,
    with_facts: bool,
) -> tuple[set[int], FileFacts | None]:
    """The documents refused for a repeated key, and the file's facts when asked for: one
    walk finds both (``facts.file_facts``), where without facts each document is walked for
    its repeated keys alone."""
    marked = {(m.template.location.document, m.template.yaml_path) for m in marks}
    if not with_facts:
        return _documents_with_duplicate_keys(contexts, marked, None), None
    found = [t for ctx in contexts for t in ctx.targets] + [m.template for m in marks]
    keys = [(target.location.document, target.yaml_path) for target in found]
    walked = file_facts(text, body, roots, keys)
    refused = _documents_with_duplicate_keys(contexts, marked, walked.repeated)
    facts = walked.facts
    return refused, facts._replace(refused=tuple(sorted(refused))) if facts is not None else None


def _documents_with_duplicate_keys(
    contexts: list[DocumentContext],
    marked: set[tuple[int, nodes.YamlPath]],
    repeated: Mapping[int, ScalarNode] | None,
) -> set[int]:
    """Documents with a target or marker and a repeated key, each one a problem; ``repeated``
    is what the facts' walk found (None: walk each such document here)."""
    refused: set[int] = set()
    for ctx in contexts:
        if not ctx.targets and not any(document == ctx.document for document, _ in marked):
            continue
        if repeated is None:
            duplicate = nodes.duplicate_key(ctx.root)
        else:
            duplicate = repeated.get(ctx.document)
        if duplicate is not None:
            refused.add(ctx.document)
            ctx.problem(
                f"key {duplicate.value!r} appears twice in one mapping, so tools disagree about "
                f"which value counts; remove one (no image in this document will be updated)",
                duplicate,
            )
    return refused
