"""Find container images in workloads: ``containers``, ``initContainers`` and
``ephemeralContainers`` of each pod spec that ``objects`` knows where to find.

Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs, Pods, PodTemplates, Argo
Rollouts, Knative Services and OpenShift DeploymentConfigs, also as the items of a list. Helm
values, Kustomize images and setter markers live elsewhere.
"""

from __future__ import annotations

from imagebot.manifest import nodes
from imagebot.manifest.annotations import DEFAULT_POLICY, WorkloadAnnotations
from imagebot.manifest.compose import STR_TAG, Node, ScalarNode
from imagebot.manifest.context import DocumentContext, is_placeholder
from imagebot.manifest.objects import containers_of
from imagebot.model import TargetKind, WorkloadId


def find_container_images(ctx: DocumentContext, obj: Node, path: nodes.YamlPath = ()) -> None:
    """Targets for every container image of ``obj`` (a document root or a list item)."""
    slots = containers_of(obj)
    if slots is None:
        return
    workload, annotations = ctx.identity(obj)
    names: list[str] = []
    for slot in slots:
        name = slot.name if slot.name is not None else f"{slot.field}[{slot.index}]"
        names.append(name)
        _add_container(
            ctx,
            slot.node,
            (*path, *slot.path),
            workload=workload,
            name=name,
            annotations=annotations,
        )
    ctx.report_unknown_containers(annotations, names, workload)


def _add_container(
    ctx: DocumentContext,
    container: Node,
    path: nodes.YamlPath,
    *,
    workload: WorkloadId,
    name: str,
    annotations: WorkloadAnnotations,
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
    automation = annotations.automation
    policy = annotations.policies.get(name, DEFAULT_POLICY) if automation.automated else None
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
