"""Workloads as lint and the workflow commands see them: place, annotations, containers.

The scanner describes each workload it walks (``describe``) from the same composed documents and
the same annotation reading as its targets; ``resolve`` turns what a user typed into exactly one
of them. Pure over composed nodes: reading files is the caller's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import field

from imagebot.errors import UsageError
from imagebot.manifest import nodes
from imagebot.manifest.annotations import KEEL_POLICY_KEYS as POLICY_KEYS
from imagebot.manifest.compose import MappingNode, Node, ScalarNode
from imagebot.manifest.objects import Object, containers_of, is_helm_release
from imagebot.model import Automation, PolicySpec, WorkloadId
from imagebot.records import record


@record
class Annotation:
    """One ``metadata.annotations`` entry as written, with the line of its key."""

    key: str
    value: str
    line: int


@record
class Workload:
    """A workload found in one file: identity, place, annotations and containers.

    ``containers`` (their names) is None for kinds whose images live elsewhere (HelmRelease
    values); ``automation`` is the same value the workload's targets carry. ``policies`` are
    the tag policies its annotations write, by container, automated or not: a target carries
    its policy only while the workload is automated, and ``release --update-all-images``
    follows them either way, as fluxctl did.
    """

    id: WorkloadId
    file: str
    line: int
    document: int
    annotations: tuple[Annotation, ...]
    containers: tuple[str, ...] | None
    automation: Automation
    keel: bool = False  # a Keel policy (annotation or label) automates it unless told otherwise
    labels: tuple[Annotation, ...] = ()  # for Keel's settings, which Keel also reads there
    policies: Mapping[str, PolicySpec] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def automated(self) -> bool:
        return self.automation.automated


def describe(
    found: Object,
    identity: WorkloadId,
    automation: Automation,
    file: str,
    policies: Mapping[str, PolicySpec] | None = None,
) -> Workload:
    """What lint and the commands need of one workload object."""
    node = found.node
    metadata = nodes.get(node, "metadata")
    keel = any(
        nodes.get(nodes.get(metadata, where), key) is not None
        for where in ("annotations", "labels")
        for key in POLICY_KEYS
    )
    return Workload(
        id=identity,
        file=file,
        line=node.start_mark.line + 1,
        document=found.document,
        annotations=tuple(_annotations(nodes.get(nodes.get(node, "metadata"), "annotations"))),
        containers=_containers(node),
        automation=automation,
        keel=keel,
        labels=tuple(_annotations(nodes.get(metadata, "labels"))),
        policies=dict(policies or {}),
    )


def _annotations(node: Node | None) -> Iterator[Annotation]:
    """The string entries of an annotations (or labels) mapping, as written."""
    if not isinstance(node, MappingNode):
        return
    for key, value in node.value:
        if isinstance(key, ScalarNode) and isinstance(value, ScalarNode):
            yield Annotation(str(key.value), str(value.value), key.start_mark.line + 1)


def _containers(node: Node) -> tuple[str, ...] | None:
    """The names annotations give the containers (qualified where an own name repeats); an
    unnamed one cannot be named in an annotation key. None for a HelmRelease's values."""
    slots = containers_of(node).slots
    if not slots and is_helm_release(node):
        return None
    return tuple(s.name for s in slots if s.name is not None)


def resolve(wanted: WorkloadId, workloads: Sequence[Workload]) -> Workload:
    """The one workload ``wanted`` names (its kind in any case).

    With a namespace, an exact namespace match wins; a workload written without a namespace
    matches too when no exact one exists. Raises UsageError listing the candidates otherwise.
    """
    named = [
        w
        for w in workloads
        if w.id.same_kind(wanted.kind) and w.id.name == wanted.name and not w.id.directory
    ]
    matches = named
    if wanted.namespace is not None:
        matches = [w for w in named if w.id.namespace == wanted.namespace] or [
            w for w in named if w.id.namespace is None
        ]
    matches = [*matches, *_in_directory(wanted, workloads)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        near = (
            named
            or [w for w in workloads if w.id.name == wanted.name]
            or [w for w in workloads if w.id.same_kind(wanted.kind)]
        )
        hint = _candidates(near[:20]) if near else " (the tree has no workload of that kind)"
        raise UsageError(f"no workload {_spelled(wanted)} found{hint}")
    raise UsageError(
        f"{_spelled(wanted)} is ambiguous: name it as KIND/NAMESPACE/NAME{_candidates(matches)}"
    )


def _in_directory(wanted: WorkloadId, workloads: Sequence[Workload]) -> list[Workload]:
    """Kustomization files named by their directory: ``Kustomization/apps/web`` reads as
    namespace ``apps`` and name ``web``, so the directory is both together (or the name alone:
    ``Kustomization/base``, ``Kustomization/.``)."""
    spelled = {wanted.name}
    if wanted.namespace is not None:
        spelled.add(f"{wanted.namespace}/{wanted.name}")
    return [
        w
        for w in workloads
        if w.id.directory and w.id.same_kind(wanted.kind) and w.id.name in spelled
    ]


def _spelled(wanted: WorkloadId) -> str:
    if wanted.namespace is None:
        return f"{wanted.kind}/*/{wanted.name}"  # asked for in any namespace
    return str(wanted)


def _candidates(workloads: Sequence[Workload]) -> str:
    ordered = sorted(workloads, key=lambda w: (str(w.id), w.where))
    return "; candidates: " + ", ".join(f"{w.id} ({w.where})" for w in ordered)
