"""The one walk over a document's objects, what makes an object a workload, where its containers
live.

Every reader of objects goes through here: the scanner's finders, the workload descriptions of
lint and the workflow commands, and the annotation editor. A document is one object, or a list
of them (``List``, ``DeploymentList``, ...); a workload is an object whose pod spec imagebot
knows, or a HelmRelease (its annotations automate its values). Reading images is the finders'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from imagebot.manifest import nodes
from imagebot.manifest.compose import MappingNode, Node, SequenceNode
from imagebot.model import WorkloadId

_TEMPLATE = ("spec", "template", "spec")
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": _TEMPLATE,
    "StatefulSet": _TEMPLATE,
    "DaemonSet": _TEMPLATE,
    "ReplicaSet": _TEMPLATE,
    "ReplicationController": _TEMPLATE,
    "Job": _TEMPLATE,
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
}
# Kinds whose name other APIs reuse: they count only under these API groups.
GROUPED_KINDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("argoproj.io/", "Rollout"): _TEMPLATE,
    ("serving.knative.dev/", "Service"): _TEMPLATE,
    ("serving.knative.dev/", "Configuration"): _TEMPLATE,
    ("apps.openshift.io/", "DeploymentConfig"): _TEMPLATE,
}
CORE_GROUPS = ("apps", "batch", "extensions")
CONTAINER_FIELDS = ("containers", "initContainers", "ephemeralContainers")
HELM_GROUPS = ("helm.toolkit.fluxcd.io/", "helm.fluxcd.io/")


@dataclass(frozen=True, slots=True)
class Object:
    """One object of a document: ``path`` leads to it from the root (``("items", 2)`` in a list)."""

    document: int
    path: nodes.YamlPath
    node: MappingNode


@dataclass(frozen=True, slots=True)
class Slot:
    """One container of a pod spec: ``name`` None when it has none (and is not Knative's lone
    ``user-container``); ``path`` leads to it from its object."""

    field: str
    index: int
    node: Node
    name: str | None
    path: nodes.YamlPath


def objects_of(document: int, root: Node) -> list[Object]:
    """The objects a document holds: itself, or the items of a list of any kind (``List``,
    ``DeploymentList``, ...); what is not a mapping holds none."""
    kind = nodes.get_text(root, "kind") or ""
    items = nodes.get(root, "items")
    if kind.endswith("List") and isinstance(items, SequenceNode):
        return [
            Object(document, ("items", index), item)
            for index, item in enumerate(items.value)
            if isinstance(item, MappingNode)
        ]
    return [Object(document, (), root)] if isinstance(root, MappingNode) else []


def all_objects(documents: Sequence[Node]) -> list[Object]:
    """Every object of every document, in document order."""
    return [found for index, root in enumerate(documents) for found in objects_of(index, root)]


def object_at(document: int, root: Node, path: nodes.YamlPath) -> Node:
    """The object of a document that holds the value at ``path``."""
    holders = [o.node for o in objects_of(document, root) if path[: len(o.path)] == o.path]
    return holders[0] if holders else root


def pod_spec_path(api_version: str, kind: str) -> tuple[str, ...] | None:
    """Where the pod spec of this kind of object is, or None when it has none we know."""
    for (group, grouped_kind), path in GROUPED_KINDS.items():
        if kind == grouped_kind and api_version.startswith(group):
            return path
    if "/" in api_version and api_version.split("/", 1)[0] not in CORE_GROUPS:
        return None  # a CRD that happens to be called Deployment is not ours to read
    return POD_SPEC_PATHS.get(kind)


def is_helm_release(obj: Node) -> bool:
    api_version = nodes.get_text(obj, "apiVersion") or ""
    return nodes.get_text(obj, "kind") == "HelmRelease" and api_version.startswith(HELM_GROUPS)


def containers_of(obj: Node) -> list[Slot] | None:
    """The containers of an object's pod spec, or None when it has no pod spec we know."""
    api_version = nodes.get_text(obj, "apiVersion") or ""
    spec_path = pod_spec_path(api_version, nodes.get_text(obj, "kind") or "")
    pod_spec = nodes.resolve_path(obj, spec_path) if spec_path is not None else None
    if spec_path is None or pod_spec is None:
        return None
    knative = api_version.startswith("serving.knative.dev/")
    slots: list[Slot] = []
    for field in CONTAINER_FIELDS:
        containers = nodes.sequence(nodes.get(pod_spec, field))
        for index, container in enumerate(containers):
            name = nodes.get_text(container, "name") or None
            if name is None and knative and len(containers) == 1:
                name = "user-container"  # Knative's name for a lone unnamed container
            slots.append(Slot(field, index, container, name, (*spec_path, field, index)))
    return slots


def object_id(obj: Node) -> WorkloadId:
    """Who an object is, as written; ``?`` stands in for a kind or name it does not give."""
    metadata = nodes.get(obj, "metadata")
    return WorkloadId(
        nodes.get_text(obj, "kind") or "?",
        nodes.get_text(metadata, "namespace") or None,
        nodes.get_text(metadata, "name") or "?",
    )


def is_workload(obj: Node) -> bool:
    """An object with a kind, a name and a pod spec imagebot knows, or a HelmRelease."""
    kind = nodes.get_text(obj, "kind")
    if not kind or not nodes.get_text(nodes.get(obj, "metadata"), "name"):
        return False
    api_version = nodes.get_text(obj, "apiVersion") or ""
    return pod_spec_path(api_version, kind) is not None or is_helm_release(obj)


def locate_workloads(documents: Sequence[Node]) -> list[tuple[WorkloadId, Object]]:
    """Every workload of ``documents`` with its identity, in document order."""
    return [(object_id(o.node), o) for o in all_objects(documents) if is_workload(o.node)]


def container_on_path(root: Node, path: nodes.YamlPath) -> str | None:
    """The name of the innermost container whose field ``path`` leads to, in an object of any
    kind (a setter marker may sit in a custom resource's containers too)."""
    container = None
    for index, step in enumerate(path[:-2]):
        if step in CONTAINER_FIELDS and isinstance(path[index + 1], int):
            container = nodes.get_text(nodes.resolve_path(root, path[: index + 2]), "name")
    return container
