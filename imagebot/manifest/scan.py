"""Find every image target in the text of one file: pure, no file system.

Composes each document once and runs the finders over it (containers, HelmRelease values,
Kustomize images, Flux image objects, setter markers) and describes its workloads. Text that is
not YAML is one skip, never fatal; hostile YAML (too deep, cyclic, an alias bomb) one problem;
a document with a repeated key yields no targets, since appliers disagree about which copy wins.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from imagebot.errors import ReferenceError_
from imagebot.manifest import nodes
from imagebot.manifest.compose import (
    ComposeError,
    MappingNode,
    Node,
    ScalarNode,
    UnsafeYamlError,
    compose_documents,
    held_gc,
    iter_nodes,
    split_bom,
)
from imagebot.manifest.containers import find_container_images
from imagebot.manifest.context import DocumentContext
from imagebot.manifest.facts import FileFacts
from imagebot.manifest.helm import find_helm_images
from imagebot.manifest.kustomize import describe_kustomization, find_kustomize_images
from imagebot.manifest.objects import is_workload, objects_of
from imagebot.manifest.occurrences import (
    Occurrence,
    find_occurrences,
    find_occurrences_in_text,
)
from imagebot.manifest.refusals import refused_documents
from imagebot.manifest.setters import (
    FluxObject,
    SetterMark,
    find_markers,
    read_flux_object,
    resolve_markers,
)
from imagebot.model import Problem, Target
from imagebot.records import record
from imagebot.refs import parse_reference

if TYPE_CHECKING:  # loaded for an Application (Argo CD's) or when workloads are asked for
    from imagebot.manifest.argocd import ArgoApp
    from imagebot.manifest.workload_index import Workload


@record
class FileScan:
    """What one file holds; ``marks`` still need the tree's ``flux_objects`` to resolve."""

    file: str
    targets: tuple[Target, ...] = ()
    # What the finders read on marked values: the targets when the marker does not resolve.
    shadowed: tuple[Target, ...] = ()
    problems: tuple[Problem, ...] = ()
    marks: tuple[SetterMark, ...] = ()
    flux_objects: tuple[FluxObject, ...] = ()
    skipped: Problem | None = None
    workloads: tuple[Workload, ...] = ()  # only when asked for: lint and the workflow commands
    # Only when watching: copies of the watched images that no target or marker covers.
    occurrences: tuple[Occurrence, ...] = ()
    # Argo CD Applications with an image-list: their targets are in other files (the tree's).
    applications: tuple[ArgoApp, ...] = ()
    # Only with ``with_facts``: what a rewrite of this very text needs, so it need not compose
    # it again (``facts``); None when the file has no target.
    facts: FileFacts | None = None


def scan_file(
    text: str,
    file: str,
    *,
    with_workloads: bool = False,
    watch: Collection[str] = (),
    watch_own: bool = False,
    with_facts: bool = False,
) -> FileScan:
    """Targets, problems, unresolved setter marks and Flux image objects of one file.

    ``with_workloads`` also describes the file's workloads from the same composed documents,
    so a command that needs both never composes a file twice. ``watch`` (canonical repository
    names) also finds the copies of those images that no target covers, with why
    (``occurrences``); ``watch_own`` watches the images of the file's own targets.
    ``with_facts`` also records what a rewrite of this text needs of its targets' values
    (``facts``): the run rewrites without composing the old text again.
    """
    with held_gc():
        return _scan_file(
            text,
            file,
            with_workloads=with_workloads,
            watch=watch,
            watch_own=watch_own,
            with_facts=with_facts,
        )


def _scan_file(
    text: str,
    file: str,
    *,
    with_workloads: bool,
    watch: Collection[str],
    watch_own: bool,
    with_facts: bool,
) -> FileScan:
    _, body = split_bom(text)
    try:
        roots = compose_documents(body)
    except UnsafeYamlError as error:
        # Valid YAML, maybe, but hostile: the whole file is one problem, good documents and all
        # (which document a bomb or cycle belongs to is no reason to trust its neighbours).
        reason = f"{error}; no image in this file will be updated"
        return FileScan(
            file,
            problems=(Problem(reason, file, error.line),),
            occurrences=_in_text(body, file, watch, "refused as unsafe YAML"),
        )
    except ComposeError as error:
        skipped = Problem(skip_reason(body, error), file, error.line)
        why = "a Helm or Go template" if "{{" in body else "not YAML"
        return FileScan(file, skipped=skipped, occurrences=_in_text(body, file, watch, why))
    template_line = _template_line(roots) if "{{" in body else None
    if template_line is not None:
        # `key: {{ .Values.x }}` happens to be YAML (a mapping inside a mapping key): a
        # template all the same, whose literal text is not what gets applied.
        reason = "skipped: looks like a Helm or Go template ({{ ... }} read as a mapping key)"
        return FileScan(
            file,
            skipped=Problem(reason, file, template_line),
            occurrences=_in_text(body, file, watch, "a Helm or Go template"),
        )
    contexts = [
        DocumentContext(file, body, index, root)
        for index, root in enumerate(roots)
        if isinstance(root, MappingNode)
    ]
    flux_objects: list[FluxObject] = []
    workloads: list[Workload] = []
    applications: list[ArgoApp] = []
    for ctx in contexts:
        for obj in objects_of(ctx.document, ctx.root):
            if _application(ctx, obj.node, applications):
                continue
            find_container_images(ctx, obj.node, obj.path)
            find_helm_images(ctx, obj.node, obj.path)
            found = read_flux_object(ctx, obj.node)
            if found is not None:
                flux_objects.append(found)
            if with_workloads and is_workload(obj.node):
                from imagebot.manifest.workload_index import describe  # lint's and workflows'

                identity, annotations = ctx.identity(obj.node)
                workloads.append(
                    describe(obj, identity, annotations.automation, file, annotations.policies)
                )
        find_kustomize_images(ctx, ctx.root)
        if with_workloads:
            workloads.extend(describe_kustomization(ctx))
    marks = find_markers(contexts, body)
    if marks:
        by_path = {(t.location.document, t.yaml_path): t for ctx in contexts for t in ctx.targets}
        marks = [_named_as_found(mark, by_path) for mark in marks]
    marked = {(m.template.location.document, m.template.yaml_path) for m in marks}
    refused, facts = refused_documents(text, body, roots, contexts, marks, with_facts=with_facts)
    kept = [t for ctx in contexts if ctx.document not in refused for t in ctx.targets]
    # A setter marker governs the value it sits on, whatever else found it.
    shadowed = [t for t in kept if (t.location.document, t.yaml_path) in marked] if marks else []
    targets = [t for t in kept if t not in shadowed] if shadowed else kept
    problems = [problem for ctx in contexts for problem in ctx.problems]
    occurrences: list[Occurrence] = []
    if watch or watch_own:
        names = set(watch)
        if watch_own:
            names.update(t.image.name for ctx in contexts for t in ctx.targets)
            names.update(_marked_names(marks))
        covered = [
            *((t.location.document, t.yaml_path, t.field_part) for t in kept),
            *((m.template.location.document, m.template.yaml_path, m.template.field_part)
              for m in marks if m.template.location.document not in refused),
        ]  # fmt: skip
        occurrences = find_occurrences(contexts, names, covered, refused)
    return FileScan(
        file,
        targets=tuple(targets),
        shadowed=tuple(shadowed),
        problems=tuple(problems),
        marks=tuple(m for m in marks if m.template.location.document not in refused),
        flux_objects=tuple(flux_objects),
        workloads=tuple(workloads),
        occurrences=tuple(occurrences),
        applications=tuple(applications),
        facts=facts,
    )


def _application(ctx: DocumentContext, obj: Node, found: list[ArgoApp]) -> bool:
    """Whether ``obj`` is an Argo CD Application (whose images are found elsewhere); one
    with an ``image-list`` joins ``found``."""
    if nodes.get_text(obj, "kind") != "Application":
        return False
    from imagebot.manifest.argocd import is_application, read_application

    if not is_application(obj):
        return False
    app, problems = read_application(obj, ctx.identity(obj)[0], ctx.file)
    ctx.problems.extend(problems)
    if app is not None:
        found.append(app)
    return True


def _in_text(body: str, file: str, watch: Collection[str], why: str) -> tuple[Occurrence, ...]:
    return tuple(find_occurrences_in_text(body, file, watch, why)) if watch else ()


def _marked_names(marks: Sequence[SetterMark]) -> set[str]:
    """The images of full-reference markers, read from the marked value itself (the marker's
    ImagePolicy names the same repository, or the marker is a problem)."""
    names: set[str] = set()
    for mark in marks:
        if mark.template.field_part == "image":
            try:
                names.add(parse_reference(mark.template.current_value).name)
            except ReferenceError_:
                continue
    return names


def _named_as_found(
    mark: SetterMark, found: dict[tuple[int, nodes.YamlPath], Target]
) -> SetterMark:
    """A marker on a value a finder also read takes the finder's workload and container names
    (``Kustomization/overlays/prod`` and the entry's name, a HelmRelease's ``chart-image``)."""
    template = mark.template
    other = found.get((template.location.document, template.yaml_path))
    if other is None:
        return mark
    named = dataclasses.replace(template, workload=other.workload, container=other.container)
    return dataclasses.replace(mark, template=named)


def _template_line(roots: list[Node]) -> int | None:
    """The line of the first mapping key that is itself a collection, as ``{{ x }}`` reads."""
    for root in roots:
        for node in iter_nodes(root):
            if isinstance(node, MappingNode):
                for key, _ in node.value:
                    if not isinstance(key, ScalarNode):
                        return int(key.start_mark.line) + 1
    return None


def skip_reason(body: str, error: ComposeError) -> str:
    if "{{" in body:
        return f"skipped: looks like a Helm or Go template, not YAML ({error})"
    return f"skipped: {error}"


def scan_text(text: str, file: str) -> tuple[list[Target], list[Problem]]:
    """Targets and problems of one file on its own; setter markers resolve only through
    ImagePolicy and ImageRepository objects in this same text."""
    scan = scan_file(text, file)
    if scan.skipped is not None:
        return [], [scan.skipped]
    setter_targets, setter_problems = resolve_markers(scan.marks, scan.flux_objects)
    targets = sorted(with_setters([scan], setter_targets), key=target_order)
    return targets, [*scan.problems, *setter_problems]


def with_setters(scans: Sequence[FileScan], setter_targets: Sequence[Target]) -> list[Target]:
    """The files' targets and the resolved markers' ones; a value whose marker did not resolve
    (its ImagePolicy is missing) is still the image its finder read, for a manual release."""
    resolved = {(t.location.file, t.location.document, t.yaml_path) for t in setter_targets}
    back = [
        target
        for scan in scans
        for target in scan.shadowed
        if (target.location.file, target.location.document, target.yaml_path) not in resolved
    ]
    return [*(t for scan in scans for t in scan.targets), *back, *setter_targets]


def target_order(target: Target) -> tuple[str, int, int]:
    where = target.location
    return (where.file, where.line, where.column)
