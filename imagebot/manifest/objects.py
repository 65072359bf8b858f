"""The one walk over a document's objects, what makes an object a workload, who it is.

Every reader of objects goes through here: the scanner's finders, the workload descriptions of
lint and the workflow commands, and the annotation editor. A document is one object, or a list
of them (``List``, ``DeploymentList``, ...); a workload is an object of any kind in which
``slots`` finds containers, or a HelmRelease (its annotations automate its values). Where the
containers are is ``slots``'s; reading images is the finders'.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from imagebot.manifest import nodes
from imagebot.manifest.compose import MappingNode, Node, SequenceNode
from imagebot.manifest.slots import HELM_GROUPS, LISTS, SINGLE, STEP_LISTS, Walk, walk
from imagebot.model import WorkloadId, generated_name
from imagebot.records import record

# Kubernetes' own API groups ("" is v1) know their kinds: in them only these hold pod specs (a
# v1 Service written with a pod template is refused by the API server, so not read here), and
# they are workloads even before a container is written. Every other group is read by shape.
BUILTIN_GROUPS = ("", "apps", "batch", "extensions")
BUILTIN_WORKLOADS = frozenset(
    ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job",
     "CronJob", "Pod", "PodTemplate")
)  # fmt: skip


@record
class Object:
    """One object of a document: ``path`` leads to it from the root (``("items", 2)`` in a list)."""

    document: int
    path: nodes.YamlPath
    node: MappingNode


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


def is_helm_release(obj: Node) -> bool:
    api_version = nodes.get_text(obj, "apiVersion") or ""
    return nodes.get_text(obj, "kind") == "HelmRelease" and api_version.startswith(HELM_GROUPS)


def containers_of(obj: Node) -> Walk:
    """The containers of an object of any kind, a document with no ``kind`` too; none for the
    kinds of Kubernetes' own groups that are not workloads (Service, ConfigMap, ...)."""
    kind = nodes.get_text(obj, "kind")
    if kind and _builtin_group(obj) and kind not in BUILTIN_WORKLOADS:
        return Walk(())
    return walk(obj)


def _builtin_group(obj: Node) -> bool:
    api_version = nodes.get_text(obj, "apiVersion") or ""
    group = api_version.split("/", 1)[0] if "/" in api_version else ""
    return group in BUILTIN_GROUPS


def object_id(obj: Node) -> WorkloadId:
    """Who an object is, as written: an object named by ``generateName`` is ``PREFIX*``, and
    ``?`` stands in for a kind or name it does not give (a document with no ``kind``)."""
    metadata = nodes.get(obj, "metadata")
    name = nodes.get_text(metadata, "name")
    prefix = nodes.get_text(metadata, "generateName")
    namespace = nodes.get_text(metadata, "namespace")
    return WorkloadId(
        sys.intern(nodes.get_text(obj, "kind") or "?"),  # a few kinds and namespaces, many objects
        sys.intern(namespace) if namespace else None,
        name or (generated_name(prefix) if prefix else "?"),
    )


def is_workload(obj: Node) -> bool:
    """An object with a kind, a name (or ``generateName``) and containers (a built-in workload
    kind even without them), or a HelmRelease."""
    metadata = nodes.get(obj, "metadata")
    if not nodes.get_text(obj, "kind"):
        return False
    if not (nodes.get_text(metadata, "name") or nodes.get_text(metadata, "generateName")):
        return False
    if _builtin_group(obj) and nodes.get_text(obj, "kind") in BUILTIN_WORKLOADS:
        return True
    return is_helm_release(obj) or bool(containers_of(obj).slots)


def locate_workloads(documents: Sequence[Node]) -> list[tuple[WorkloadId, Object]]:
    """Every workload of ``documents`` with its identity, in document order."""
    return [(object_id(o.node), o) for o in all_objects(documents) if is_workload(o.node)]


def container_on_path(root: Node, path: nodes.YamlPath) -> str | None:
    """The name of the innermost container whose field ``path`` leads to, in an object of any
    kind (a setter marker may sit in a custom resource's containers too)."""
    container = None
    for index, step in enumerate(path[:-2]):
        if step in (*LISTS, *STEP_LISTS) and isinstance(path[index + 1], int):
            container = nodes.get_text(nodes.resolve_path(root, path[: index + 2]), "name")
        elif step in SINGLE:
            container = nodes.get_text(nodes.resolve_path(root, path[: index + 1]), "name")
    return container
