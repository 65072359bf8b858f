"""Find Kustomize ``images:`` entries (the ``newTag`` and ``digest`` each pins) and name them for
the annotations that automate them.

Covers ``kustomization.yaml`` files (with or without ``kind`` and ``apiVersion``; Components too),
Flux's Kustomization objects (``kustomize.toolkit.fluxcd.io``, ``spec.images``) and, through
``find_entries``, a HelmRelease's ``postRenderers[].kustomize.images``. The entry's image is
``newName`` when given, else ``name``. An annotation names an entry by the last path segment of
its ``name`` (``tag.app`` for ``ghcr.io/acme/app``), or by an alias (``alias.<alias>: <name>``)
where entries share that segment. Where a kustomization file is named: here, by its directory.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from imagebot.manifest import nodes
from imagebot.manifest.annotations import (
    ALIAS,
    TAG,
    WorkloadAnnotations,
    setting_of,
)
from imagebot.manifest.compose import NULL_TAG, STR_TAG, MappingNode, Node, ScalarNode
from imagebot.manifest.context import DocumentContext, is_placeholder
from imagebot.manifest.objects import Object, object_id
from imagebot.model import PolicySpec, Problem, TargetKind, WorkloadId
from imagebot.records import record

if TYPE_CHECKING:
    from imagebot.manifest.workload_index import Workload

KUSTOMIZATION_FILES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})
KUSTOMIZE_KINDS = ("Kustomization", "Component")  # a Component carries ``images:`` too
FLUX_KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io/"


def images_path(obj: Node, file: str) -> tuple[str, ...] | None:
    """Where this document keeps its images list, if it is a Kustomization of either kind."""
    kind = nodes.get_text(obj, "kind")
    api_version = nodes.get_text(obj, "apiVersion") or ""
    if kind == "Kustomization" and api_version.startswith(FLUX_KUSTOMIZE_GROUP):
        return ("spec", "images")
    kustomize_api = api_version.startswith("kustomize.config.k8s.io/")
    if kind in KUSTOMIZE_KINDS and kustomize_api:
        return ("images",)
    # In kustomize's own file, kind and apiVersion are both optional.
    own_file = posixpath.basename(file) in KUSTOMIZATION_FILES
    if own_file and kind in (None, *KUSTOMIZE_KINDS) and (kustomize_api or not api_version):
        return ("images",)
    return None


def kustomization_id(obj: Node, file: str) -> WorkloadId | None:
    """The name of kustomize's own Kustomization (or Component) in ``file``: its directory, as
    kustomize reads one kustomization file per directory (``Kustomization/apps/web``; ``.`` at
    the top); in a file of another name, that file's path. None for any other object (Flux's
    Kustomization is an API object with a namespace and a name of its own)."""
    if images_path(obj, file) != ("images",):
        return None
    kind = nodes.get_text(obj, "kind") or "Kustomization"
    if posixpath.basename(file) in KUSTOMIZATION_FILES:
        return WorkloadId(kind, None, posixpath.dirname(file) or ".", directory=True)
    return WorkloadId(kind, None, file, directory=True)


def workload_id(obj: Node, file: str) -> WorkloadId | None:
    """The identity of a Kustomization of either kind as lint and the workflow commands name
    it (so ``-w`` and ``automate`` reach it), or None for any other object."""
    if images_path(obj, file) is None:
        return None
    return kustomization_id(obj, file) or object_id(obj)


def describe_kustomization(ctx: DocumentContext) -> list[Workload]:
    """The document's Kustomization as a workload, if it is one (``_describe``)."""
    if not isinstance(ctx.root, MappingNode):
        return []
    found = _describe(ctx, Object(ctx.document, (), ctx.root))
    return [found] if found is not None else []


def _describe(ctx: DocumentContext, obj: Object) -> Workload | None:
    """A Kustomization as a workload: its images entries are its containers, named as the
    annotations name them. One with neither entries nor automation annotations is none (most
    Flux Kustomizations: the same one in each cluster's directory is no duplicate to lint)."""
    from imagebot.manifest.workload_index import describe  # lint and the workflows' alone

    path = images_path(obj.node, ctx.file)
    if path is None:
        return None
    workload, annotations = identity(ctx, obj.node)
    entries = nodes.sequence(nodes.resolve_path(obj.node, path))
    written = [nodes.string(nodes.get(entry, "name")) for entry in entries]
    described = describe(obj, workload, annotations.automation, ctx.file, annotations.policies)
    if not entries and not any(setting_of(a.key) for a in described.annotations):
        return None
    names = tuple(name_entries(written, annotations.aliases).by_name)
    return dataclasses.replace(described, containers=names)


def identity(ctx: DocumentContext, obj: Node) -> tuple[WorkloadId, WorkloadAnnotations]:
    """Who ``obj`` is and what its annotations say; a kustomization file is named by
    ``kustomization_id`` whatever its ``metadata.name`` says (kustomize ignores that name)."""
    workload, annotations = ctx.identity(obj)
    return kustomization_id(obj, ctx.file) or workload, annotations


def find_kustomize_images(ctx: DocumentContext, obj: Node) -> None:
    """Targets for the images entries of a Kustomization; its annotations automate them."""
    path = images_path(obj, ctx.file)
    if path is None:
        return
    entries = nodes.sequence(nodes.resolve_path(obj, path))
    workload, annotations = identity(ctx, obj)
    if not entries and not annotations.aliases and not annotations.policies:
        return
    at: list[tuple[nodes.YamlPath, Node]] = [
        ((*path, index), entry) for index, entry in enumerate(entries)
    ]
    names = find_entries(ctx, at, workload, annotations)
    report_unnamed(ctx, annotations, names, workload)


def entry_segment(name: str) -> str:
    """How an annotation key names an entry: the last path segment of its ``name``, without a
    tag or digest (``app`` for ``ghcr.io/acme/app`` and for ``localhost:5000/app``)."""
    last = name.rsplit("/", 1)[-1]
    return last.split("@", 1)[0].split(":", 1)[0]


@record
class EntryNames:
    """Which entries each annotation name reaches: ``by_name`` maps a name (a segment or an
    alias) to the indices of the entries it names, ``of`` each entry to its name."""

    by_name: Mapping[str, tuple[int, ...]]
    of: Mapping[int, str]


def name_entries(written: Sequence[str | None], aliases: Mapping[str, str]) -> EntryNames:
    """An entry an alias points at (by its ``name``) is named by that alias alone; any other
    by its segment. A name reaching two entries is ambiguous (``ambiguous`` reports it)."""
    aliased = {
        index: alias
        for alias, target in aliases.items()
        for index, name in enumerate(written)
        if name is not None and name == target
    }
    by_name: dict[str, list[int]] = defaultdict(list)
    of: dict[int, str] = {}
    for index, name in enumerate(written):
        if name is None:
            continue
        of[index] = aliased.get(index) or entry_segment(name)
        by_name[of[index]].append(index)
    return EntryNames({k: tuple(v) for k, v in by_name.items()}, of)


def find_entries(
    ctx: DocumentContext,
    entries: Sequence[tuple[nodes.YamlPath, Node]],
    workload: WorkloadId,
    annotations: WorkloadAnnotations,
) -> list[str]:
    """Targets for the images entries of ``workload`` (each with its path: a HelmRelease may
    have several lists, named together); the names they answer to, for the caller to check the
    annotations against."""
    written = [nodes.string(nodes.get(entry, "name")) for _, entry in entries]
    named = name_entries(written, annotations.aliases)
    for index, (path, entry) in enumerate(entries):
        name = named.of.get(index)
        policy = None if name is None else _policy(annotations, named, name)
        _add_entry(ctx, entry, path, workload, (annotations, policy))
    _ambiguous(ctx, annotations, named, workload)
    for alias, target in annotations.aliases.items():
        if alias not in named.by_name:
            ctx.problems.append(
                Problem(
                    f"annotation alias.{alias} of {workload} names {target!r}, which is no "
                    f"images entry's name (they are: {_listed(written)}); fix the alias",
                    ctx.file,
                    annotations.alias_lines.get(alias),
                )
            )
    return list(named.by_name)


def _policy(annotations: WorkloadAnnotations, named: EntryNames, name: str) -> PolicySpec | None:
    """The entry's policy when its workload is automated; a written policy whose name reaches
    several entries is applied to none of them (which one was meant is a guess)."""
    if not annotations.automation.automated:
        return None
    if len(named.by_name[name]) > 1 and name in annotations.policies:
        return None
    return annotations.policies.get(name) or annotations.default_policy()


def _ambiguous(
    ctx: DocumentContext, annotations: WorkloadAnnotations, named: EntryNames, workload: WorkloadId
) -> None:
    """A tag policy whose name reaches several entries is a problem, once per name."""
    for name, indices in named.by_name.items():
        if len(indices) > 1 and name in annotations.policies:
            ctx.problems.append(
                Problem(
                    f"{annotations.policies[name].source} of {workload} is ambiguous: "
                    f"{len(indices)} images entries end in {name!r}; name one with an alias "
                    f"annotation ({ALIAS}<alias>: <entry name>) and its policy {TAG}<alias>",
                    ctx.file,
                    annotations.policy_lines.get(name),
                )
            )


def report_unnamed(
    ctx: DocumentContext, annotations: WorkloadAnnotations, names: list[str], workload: WorkloadId
) -> None:
    """A tag policy that names no entry of a Kustomization is a problem (a typo, or an entry
    renamed since)."""
    for name, policy in annotations.policies.items():
        if name not in names:
            ctx.problems.append(
                Problem(
                    f"{policy.source} names no images entry of {workload} (it has: "
                    f"{', '.join(names) or 'none'}); fix the name or add an alias annotation",
                    ctx.file,
                    annotations.policy_lines.get(name),
                )
            )


def _listed(written: Sequence[str | None]) -> str:
    return ", ".join(repr(n) for n in written if n is not None) or "none"


def _add_entry(
    ctx: DocumentContext,
    entry: Node,
    path: nodes.YamlPath,
    workload: WorkloadId,
    automation: tuple[WorkloadAnnotations, PolicySpec | None],
) -> None:
    """The ``newTag`` and ``digest`` targets of one entry, with its workload's annotations and
    the policy they give it."""
    annotations, policy = automation
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
            automation=annotations.automation,
            policy=policy,
            part=part,
        )


def _scalar(node: Node | None) -> ScalarNode | None:
    if not isinstance(node, ScalarNode) or node.tag == NULL_TAG or not node.value:
        return None
    if node.tag != STR_TAG and not isinstance(node.value, str):
        return None
    return node
