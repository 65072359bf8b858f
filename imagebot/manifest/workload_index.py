"""Workloads in YAML text: who they are, where they stand, what they say about automation.

Names workloads as Flux v1 did (``namespace:kind/name``), finds them in composed documents (also
inside a ``List``), reads their annotations with line numbers and their container names, and
resolves what a user typed to exactly one of them. Pure over text: reading files is the caller's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from imagebot.errors import UsageError
from imagebot.manifest import nodes
from imagebot.manifest.annotations import PREFIXES
from imagebot.manifest.compose import (
    ComposeError,
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    compose_documents,
    split_bom,
)
from imagebot.manifest.context import describe_workload
from imagebot.manifest.helm import is_helm_release
from imagebot.manifest.workloads import CONTAINER_FIELDS, pod_spec_path

# kubectl's short names, so `imagebot lock deploy/web` works like `kubectl get deploy/web`.
KIND_ALIASES = {
    "deploy": "deployment",
    "sts": "statefulset",
    "ds": "daemonset",
    "rs": "replicaset",
    "cj": "cronjob",
    "po": "pod",
    "hr": "helmrelease",
    "ksvc": "service",
    "ro": "rollout",
    "rc": "replicationcontroller",
}


@dataclass(frozen=True, slots=True, order=True)
class WorkloadId:
    """``namespace:kind/name`` with the kind in lower case; namespace None when the file has none
    (Kustomize or the applier sets it later)."""

    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        # fluxctl's spelling; a workload without a namespace lands in the applier's default.
        return f"{self.namespace or 'default'}:{self.kind}/{self.name}"

    @property
    def short(self) -> str:
        """``kind/name``, as commit subjects show it."""
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True, slots=True)
class Annotation:
    """One ``metadata.annotations`` entry as written: ``boolean`` when the value is a YAML bool
    (``automated: true``), which Kubernetes rejects and Flux v1 silently ignored."""

    key: str
    value: str
    line: int
    boolean: bool = False


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    image: str | None
    line: int
    image_line: int | None


@dataclass(frozen=True, slots=True)
class Workload:
    """A workload found in one file: identity, place, annotations and containers.

    ``containers`` is None for kinds whose images live elsewhere (HelmRelease values).
    """

    id: WorkloadId
    file: str
    line: int
    document: int
    annotations: tuple[Annotation, ...]
    containers: tuple[Container, ...] | None
    target_name: str = ""  # how the scanner's Target.workload names it: Kind/namespace/name

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def automated(self) -> bool:
        """As the scanner reads it: the first spelling found, in prefix order, decides."""
        values = {a.key: a.value for a in self.annotations}
        for prefix in PREFIXES:
            if prefix + "automated" in values:
                return values[prefix + "automated"].strip().lower() == "true"
        return False


@dataclass(frozen=True, slots=True)
class Located:
    """A workload's mapping node in a composed document (``item`` indexes a List's items)."""

    id: WorkloadId
    document: int
    item: int | None
    node: MappingNode


def _string(node: Node | None) -> str | None:
    value = nodes.text(node)
    return value if value else None


def locate_workloads(documents: Sequence[Node]) -> list[Located]:
    """Every workload mapping in ``documents``, in document order."""
    found: list[Located] = []
    for index, document in enumerate(documents):
        kind = _string(nodes.get(document, "kind"))
        items = nodes.get(document, "items")
        if kind == "List" and isinstance(items, SequenceNode):
            for position, item in enumerate(items.value):
                identity = workload_id(item)
                if identity is not None and isinstance(item, MappingNode):
                    found.append(Located(identity, index, position, item))
            continue
        identity = workload_id(document)
        if identity is not None and isinstance(document, MappingNode):
            found.append(Located(identity, index, None, document))
    return found


def workload_id(node: Node) -> WorkloadId | None:
    """The identity of a workload mapping, or None when ``node`` is not a workload: an object
    with a pod spec the scanner knows, or a HelmRelease (its annotations automate its values)."""
    kind = _string(nodes.get(node, "kind"))
    metadata = nodes.get(node, "metadata")
    name = _string(nodes.get(metadata, "name"))
    api_version = _string(nodes.get(node, "apiVersion")) or ""
    if kind is None or name is None:
        return None
    if pod_spec_path(api_version, kind) is None and not is_helm_release(node):
        return None
    namespace = _string(nodes.get(metadata, "namespace"))
    return WorkloadId(kind.lower(), name, namespace)


def describe(located: Located, file: str) -> Workload:
    """Read what lint and the commands need from a located workload."""
    node = located.node
    metadata = nodes.get(node, "metadata")
    return Workload(
        id=located.id,
        file=file,
        line=node.start_mark.line + 1,
        document=located.document,
        annotations=tuple(_annotations(nodes.get(metadata, "annotations"))),
        containers=_containers(node),
        target_name=describe_workload(
            nodes.get_text(node, "kind") or "", located.id.namespace, located.id.name
        ),
    )


def _annotations(node: Node | None) -> Iterator[Annotation]:
    if not isinstance(node, MappingNode):
        return
    for key, value in node.value:
        if isinstance(key, ScalarNode) and isinstance(value, ScalarNode):
            boolean = value.tag == "tag:yaml.org,2002:bool"
            yield Annotation(str(key.value), str(value.value), key.start_mark.line + 1, boolean)


def _containers(node: Node) -> tuple[Container, ...] | None:
    path = pod_spec_path(
        nodes.get_text(node, "apiVersion") or "", nodes.get_text(node, "kind") or ""
    )
    if path is None:
        return None
    spec = nodes.resolve_path(node, path)
    out: list[Container] = []
    for list_name in CONTAINER_FIELDS:
        for item in nodes.sequence(nodes.get(spec, list_name)):
            name = _string(nodes.get(item, "name"))
            if name is None:
                continue
            image = nodes.get(item, "image")
            out.append(
                Container(
                    name=name,
                    image=_string(image),
                    line=item.start_mark.line + 1,
                    image_line=image.start_mark.line + 1 if image is not None else None,
                )
            )
    return tuple(out)


def workloads_in_text(text: str, file: str) -> list[Workload]:
    """Every workload of one file; text that is not YAML has none (the scanner reports it)."""
    try:
        documents = compose_documents(split_bom(text)[1])
    except ComposeError:
        return []
    return [describe(located, file) for located in locate_workloads(documents)]


def parse_workload_spec(spec: str, namespace: str | None = None) -> WorkloadId:
    """``kind/name`` (+ ``namespace``) or fluxctl's ``namespace:kind/name`` -> a WorkloadId.

    Raises UsageError when the text is neither, or names a namespace twice differently.
    """
    text = spec.strip()
    written_ns = None
    if ":" in text:
        written_ns, text = text.split(":", 1)
    kind, slash, name = text.partition("/")
    if (
        not slash
        or not kind
        or not name
        or "/" in name
        or (written_ns is not None and not written_ns)
    ):
        raise UsageError(
            f"workload {spec!r}: write it as KIND/NAME (deployment/web), "
            "optionally with -n NAMESPACE or as NAMESPACE:KIND/NAME"
        )
    if written_ns and namespace and written_ns != namespace:
        raise UsageError(
            f"workload {spec!r} names namespace {written_ns!r} but -n says {namespace!r}"
        )
    kind = KIND_ALIASES.get(kind.lower(), kind.lower())
    return WorkloadId(kind, name, written_ns or namespace)


def resolve(wanted: WorkloadId, workloads: Sequence[Workload]) -> Workload:
    """The one workload ``wanted`` names.

    With a namespace, an exact namespace match wins; a workload written without a namespace
    matches too when no exact one exists. Raises UsageError listing the candidates otherwise.
    """
    named = [w for w in workloads if w.id.kind == wanted.kind and w.id.name == wanted.name]
    matches = named
    if wanted.namespace is not None:
        matches = [w for w in named if w.id.namespace == wanted.namespace] or [
            w for w in named if w.id.namespace is None
        ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        near = (
            named
            or [w for w in workloads if w.id.name == wanted.name]
            or [w for w in workloads if w.id.kind == wanted.kind]
        )
        hint = _candidates(near[:20]) if near else " (the tree has no workload of that kind)"
        raise UsageError(f"no workload {_spelled(wanted)} found{hint}")
    raise UsageError(
        f"{_spelled(wanted)} is ambiguous: name it as NAMESPACE:KIND/NAME{_candidates(matches)}"
    )


def _spelled(wanted: WorkloadId) -> str:
    return str(wanted) if wanted.namespace else wanted.short


def _candidates(workloads: Sequence[Workload]) -> str:
    return "; candidates: " + ", ".join(f"{w.id} ({w.where})" for w in sorted(workloads, key=str))
