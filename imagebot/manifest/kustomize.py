"""Find Kustomize ``images:`` entries: the ``newTag`` and ``digest`` each entry pins.

Covers ``kustomization.yaml`` files (with or without ``kind`` and ``apiVersion``; Components too)
and Flux's Kustomization objects (``kustomize.toolkit.fluxcd.io``, ``spec.images``). The entry's
image is ``newName`` when given, else ``name``. Entries are not automated by themselves; a setter
marker on them makes them so.
"""

from __future__ import annotations

import posixpath

from imagebot.manifest import nodes
from imagebot.manifest.compose import NULL_TAG, STR_TAG, Node, ScalarNode
from imagebot.manifest.context import DocumentContext, is_placeholder
from imagebot.model import Automation, TargetKind, WorkloadId

KUSTOMIZATION_FILES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})
KUSTOMIZE_KINDS = ("Kustomization", "Component")  # a Component carries ``images:`` too


def images_path(obj: Node, file: str) -> tuple[str, ...] | None:
    """Where this document keeps its images list, if it is a Kustomization of either kind."""
    kind = nodes.get_text(obj, "kind")
    api_version = nodes.get_text(obj, "apiVersion") or ""
    if kind == "Kustomization" and api_version.startswith("kustomize.toolkit.fluxcd.io/"):
        return ("spec", "images")
    kustomize_api = api_version.startswith("kustomize.config.k8s.io/")
    if kind in KUSTOMIZE_KINDS and kustomize_api:
        return ("images",)
    # In kustomize's own file, kind and apiVersion are both optional.
    own_file = posixpath.basename(file) in KUSTOMIZATION_FILES
    if own_file and kind in (None, *KUSTOMIZE_KINDS) and (kustomize_api or not api_version):
        return ("images",)
    return None


def find_kustomize_images(ctx: DocumentContext, obj: Node) -> None:
    path = images_path(obj, ctx.file)
    if path is None:
        return
    entries = nodes.sequence(nodes.resolve_path(obj, path))
    if not entries:
        return
    if nodes.get(obj, "metadata") is not None:
        workload, annotations = ctx.identity(obj)
        automation = annotations.automation
    else:
        directory = posixpath.dirname(ctx.file) or "."
        workload = WorkloadId("Kustomization", None, directory, directory=True)
        automation = Automation()
    for index, entry in enumerate(entries):
        _add_entry(ctx, entry, (*path, index), workload, automation)


def _add_entry(
    ctx: DocumentContext,
    entry: Node,
    path: nodes.YamlPath,
    workload: WorkloadId,
    automation: Automation,
) -> None:
    original = nodes.string(nodes.get(entry, "name"))
    name = nodes.string(nodes.get(entry, "newName")) or original
    if name is None or is_placeholder(name):
        return
    tag_node = _scalar(nodes.get(entry, "newTag"))
    digest_node = _scalar(nodes.get(entry, "digest"))
    tag = str(tag_node.value) if tag_node is not None else None
    digest = str(digest_node.value) if digest_node is not None else None
    if any(v is not None and is_placeholder(v) for v in (tag, digest)):
        return
    text = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    for part, node in (("tag", tag_node), ("digest", digest_node)):
        if node is None:
            continue
        ref = ctx.parse_image(node, text)
        if ref is None:
            return
        ctx.add(
            node,
            (*path, "newTag" if part == "tag" else "digest"),
            TargetKind.KUSTOMIZE,
            ref,
            workload,
            container=original,
            automation=automation,
            policy=None,
            part=part,
        )


def _scalar(node: Node | None) -> ScalarNode | None:
    if not isinstance(node, ScalarNode) or node.tag == NULL_TAG or not node.value:
        return None
    if node.tag != STR_TAG and not isinstance(node.value, str):
        return None
    return node
