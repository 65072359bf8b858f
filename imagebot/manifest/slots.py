"""Where the containers of an object of any kind live: one bounded walk under its ``spec``.

A container is an entry of a ``containers``, ``initContainers`` or ``ephemeralContainers`` list
at any depth (pod templates in Deployments, CRDs, JobSet's ``replicatedJobs``, Ray's worker
groups), an entry with an ``image`` of Tekton's ``steps`` or a ``sidecars`` list, or the single
``container`` / ``script`` of an Argo Workflows template. No list of kinds: an unknown kind with
these shapes is read too. Naming the containers for annotations is here; reading images is not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from imagebot.manifest import nodes
from imagebot.manifest.compose import MappingNode, Node, ScalarNode, SequenceNode
from imagebot.records import record

LISTS = ("containers", "initContainers", "ephemeralContainers")  # every entry is a container
STEP_LISTS = ("steps", "sidecars")  # entries with an ``image`` (Argo Rollouts' steps have none)
_LIST_ORDER = {field: rank for rank, field in enumerate(LISTS)}
SINGLE = ("container", "script")  # an Argo Workflows template's one container
# Keys that say where a pod spec sits, not which one: never part of a qualified name.
GENERIC_KEYS = frozenset(("spec", "template", "jobTemplate", "taskSpec", "pipelineSpec"))
MAX_DEPTH = 64  # levels below the object; YAML's own nesting is capped at 256 (guard.py)
MAX_NODES = 100_000  # nodes visited per object, aliases counted at each use
KNATIVE = "serving.knative.dev/"
HELM_GROUPS = ("helm.toolkit.fluxcd.io/", "helm.fluxcd.io/")


@record
class Slot:
    """One container of an object. ``name`` is what annotations call it (``tag.<name>``): its
    own name, or ``<group>.<own>`` when another container of the object has the same own name
    (``own``); None when it has no name. ``path`` leads to it from its object."""

    field: str
    index: int | None  # None for an Argo template's single container or script
    node: Node
    name: str | None
    own: str | None
    path: nodes.YamlPath

    @property
    def display(self) -> str:
        """The name targets carry: ``name``, else where it stands (``containers[0]``)."""
        if self.name is not None:
            return self.name
        return self.field if self.index is None else f"{self.field}[{self.index}]"


@record
class Walk:
    """What one object holds; ``cut`` says why the walk stopped early (None when it did not)."""

    slots: tuple[Slot, ...]
    cut: str | None = None


# (label, from a named list entry?): the groups a container sits in, outermost first.
Labels = tuple[tuple[str, bool], ...]


@dataclass(slots=True)
class _Raw:
    field: str
    index: int | None
    node: Node
    own: str | None
    path: nodes.YamlPath
    labels: Labels


_Entry = tuple[Node, nodes.YamlPath, Labels, bool]  # node, path, labels, under a spec


def walk(obj: Node) -> Walk:
    """Every container of ``obj`` with its annotation name, in document order (a pod spec's
    lists in the order Kubernetes declares them)."""
    kind = nodes.get_text(obj, "kind")
    if not isinstance(obj, MappingNode) or kind == "CustomResourceDefinition":
        return Walk(())  # a CRD's schema describes containers; it holds none
    api_version = nodes.get_text(obj, "apiVersion") or ""
    # Helm values are the Helm finder's: read here too, a value would be found twice.
    helm = kind == "HelmRelease" and api_version.startswith(HELM_GROUPS)
    found: list[_Raw] = []
    cut: str | None = None
    visited = 0
    stack: list[_Entry] = [(obj, (), (), False)]
    while stack:
        node, path, labels, under_spec = stack.pop()
        visited += 1
        if visited > MAX_NODES:
            cut = f"more than {MAX_NODES:,} nodes"
            break
        if len(path) > MAX_DEPTH:
            cut = cut or f"nested more than {MAX_DEPTH} levels below the object"
            continue
        if isinstance(node, MappingNode):
            children = _mapping(node, path, labels, under_spec, found, helm=helm)
        else:
            children = _sequence(node, path, labels, under_spec)
        stack.extend(reversed(children))  # so entries pop in document order
    return Walk(_named(found, knative=api_version.startswith(KNATIVE)), cut)


def _mapping(
    node: MappingNode,
    path: nodes.YamlPath,
    labels: Labels,
    under_spec: bool,
    found: list[_Raw],
    *,
    helm: bool,
) -> list[_Entry]:
    """Record the containers this mapping holds; the children still to walk."""
    children: list[_Entry] = []
    # A pod spec's lists in the order Kubernetes declares them (containers first), as they
    # always were read: commands that write a policy per container keep that order.
    pairs = nodes.items(node)
    if under_spec:
        pairs.sort(key=_list_order)
    for key_node, value in pairs:
        key = key_node.value if isinstance(key_node, ScalarNode) else None
        if not isinstance(key, str) or isinstance(value, ScalarNode):
            continue
        if (not path and key in ("metadata", "status")) or (
            helm and path == ("spec",) and key in ("values", "valuesFrom")
        ):
            continue
        here = (*path, key)
        if under_spec and _take(key, value, here, node, found, labels=labels):
            continue
        label = labels
        if isinstance(value, MappingNode) and key not in GENERIC_KEYS:
            label = (*labels, (key, False))
        children.append((value, here, label, under_spec or key == "spec"))
    return children


def _list_order(pair: tuple[Node, Node]) -> int:
    key = pair[0]
    return _LIST_ORDER.get(key.value, len(LISTS)) if isinstance(key, ScalarNode) else len(LISTS)


def _sequence(node: Node, path: nodes.YamlPath, labels: Labels, under_spec: bool) -> list[_Entry]:
    children: list[_Entry] = []
    for index, item in enumerate(node.value if isinstance(node, SequenceNode) else ()):
        if isinstance(item, ScalarNode):
            continue
        name = nodes.get_text(item, "name") or nodes.get_text(item, "groupName")
        label = (*labels, (name, True) if name else (str(index), False))
        children.append((item, (*path, index), label, under_spec))
    return children


def _take(
    key: str,
    value: Node,
    path: nodes.YamlPath,
    parent: MappingNode,
    found: list[_Raw],
    *,
    labels: Labels,
) -> bool:
    """Record the containers ``key`` holds; True when nothing more is to be found below it."""
    if key in LISTS and isinstance(value, SequenceNode):
        for index, item in enumerate(value.value):
            if isinstance(item, MappingNode):
                own = nodes.get_text(item, "name") or None
                found.append(_Raw(key, index, item, own, (*path, index), labels))
        return True
    if key in STEP_LISTS and isinstance(value, SequenceNode):
        entries = [(i, e) for i, e in enumerate(value.value) if nodes.get(e, "image") is not None]
        for index, item in entries:
            own = nodes.get_text(item, "name") or None
            found.append(_Raw(key, index, item, own, (*path, index), labels))
        return len(entries) == len(value.value)
    if key in SINGLE and isinstance(value, MappingNode) and nodes.get(value, "image") is not None:
        # Argo names the pod's container "main" whatever is written: the template names it.
        own = nodes.get_text(value, "name") or nodes.get_text(parent, "name") or None
        found.append(_Raw(key, None, value, own, path, labels))
        return True
    return False


def _named(found: list[_Raw], *, knative: bool) -> tuple[Slot, ...]:
    """Each container's annotation name: its own, unless another container of the object has
    it too; then the nearest group around it (a named list entry, else a key that is not
    generic) qualifies it, and when even that repeats, every group from the object down."""
    if knative and len(found) == 1 and found[0].own is None and found[0].field == "containers":
        found[0].own = "user-container"  # Knative's name for a lone unnamed container
    counts = Counter(raw.own for raw in found if raw.own is not None)
    shared = [raw for raw in found if raw.own is not None and counts[raw.own] > 1]
    near = {id(raw): _qualified(raw, nearest=True) for raw in shared}
    near_counts = Counter(near.values())
    slots = []
    for raw in found:
        name = raw.own
        if name is not None and counts[name] > 1:
            name = near[id(raw)]
            if near_counts[name] > 1:
                name = _qualified(raw, nearest=False)
        slots.append(Slot(raw.field, raw.index, raw.node, name, raw.own, raw.path))
    return tuple(slots)


def _qualified(raw: _Raw, *, nearest: bool) -> str:
    labels = raw.labels
    if raw.index is None and labels and labels[-1] == (raw.own, True):
        labels = labels[:-1]  # a single container already named by its template
    if not nearest:
        return ".".join([*(label for label, _ in labels), str(raw.own)])
    entries = [label for label, entry in labels if entry]
    keys = [label for label, entry in labels if not entry]
    group = entries[-1] if entries else keys[-1] if keys else None
    return f"{group}.{raw.own}" if group else str(raw.own)
