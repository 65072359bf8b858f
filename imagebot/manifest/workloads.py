"""Find container images in workloads: the pod template of each kind, and their annotations.

Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs, Pods, PodTemplates, the items
of a List, Argo Rollouts, Knative Services and OpenShift DeploymentConfigs; ``containers``,
``initContainers`` and ``ephemeralContainers``. Helm values, Kustomize images and setter markers
live elsewhere.
"""

from __future__ import annotations

from imagebot.manifest import nodes
from imagebot.manifest.annotations import Automation
from imagebot.manifest.compose import STR_TAG, Node, ScalarNode
from imagebot.manifest.context import DocumentContext, is_placeholder
from imagebot.model import TargetKind

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
DEFAULT_POLICY = ("glob:*", "default glob:* for automated workloads")


def pod_spec_path(api_version: str, kind: str) -> tuple[str, ...] | None:
    """Where the pod spec of this kind of object is, or None when it has none we know."""
    for (group, grouped_kind), path in GROUPED_KINDS.items():
        if kind == grouped_kind and api_version.startswith(group):
            return path
    if "/" in api_version and api_version.split("/", 1)[0] not in CORE_GROUPS:
        return None  # a CRD that happens to be called Deployment is not ours to read
    return POD_SPEC_PATHS.get(kind)


def objects_of(root: Node) -> list[tuple[Node, nodes.YamlPath]]:
    """The objects a document holds: itself, or the items of a ``List`` (``DeploymentList``...)."""
    kind = nodes.get_text(root, "kind") or ""
    if kind.endswith("List") and nodes.get(root, "items") is not None:
        items = nodes.sequence(nodes.get(root, "items"))
        return [(item, ("items", index)) for index, item in enumerate(items)]
    return [(root, ())]


def find_workloads(ctx: DocumentContext, obj: Node, path: nodes.YamlPath = ()) -> None:
    """Targets for every container image of ``obj`` (a document root or a List item)."""
    kind = nodes.get_text(obj, "kind") or ""
    api_version = nodes.get_text(obj, "apiVersion") or ""
    spec_path = pod_spec_path(api_version, kind)
    pod_spec = nodes.resolve_path(obj, spec_path) if spec_path is not None else None
    if spec_path is None or pod_spec is None:
        return
    workload, automation = ctx.identity(obj)
    knative = api_version.startswith("serving.knative.dev/")
    names: list[str] = []
    for field in CONTAINER_FIELDS:
        containers = nodes.sequence(nodes.get(pod_spec, field))
        for index, container in enumerate(containers):
            name = nodes.get_text(container, "name")
            if name is None:
                # Knative names a lone unnamed container user-container; others need a name.
                name = "user-container" if knative and len(containers) == 1 else f"{field}[{index}]"
            names.append(name)
            _add_container(
                ctx,
                container,
                (*path, *spec_path, field, index),
                workload=workload,
                name=name,
                automation=automation,
            )
    ctx.report_unknown_containers(automation, names, workload)


def _add_container(
    ctx: DocumentContext,
    container: Node,
    path: nodes.YamlPath,
    *,
    workload: str,
    name: str,
    automation: Automation,
) -> None:
    image_node = nodes.get(container, "image")
    if not isinstance(image_node, ScalarNode) or image_node.tag != STR_TAG:
        return
    value = str(image_node.value)
    if is_placeholder(value):
        return
    image = ctx.parse_image(image_node, value)
    if image is None:
        return
    policy = automation.policies.get(name, DEFAULT_POLICY) if automation.automated else None
    ctx.add(
        image_node,
        (*path, "image"),
        TargetKind.CONTAINER,
        image,
        workload,
        container=name,
        automation=automation,
        policy=policy,
    )
