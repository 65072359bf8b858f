"""Find container images in objects of any kind: each container ``slots`` locates (container
lists at any depth under a ``spec``, Argo Workflows templates, Tekton steps and sidecars), also
in the items of a list.

A container's policy is ``tag.<name>`` (its qualified name where its own name repeats in the
object), else ``tag.<own name>``, which so covers every container of that name. Helm values,
Kustomize images and setter markers live elsewhere.
"""

from __future__ import annotations

from imagebot.manifest import nodes
from imagebot.manifest.annotations import WorkloadAnnotations
from imagebot.manifest.compose import STR_TAG, Node, ScalarNode
from imagebot.manifest.context import DocumentContext, is_placeholder
from imagebot.manifest.objects import containers_of
from imagebot.model import PolicySpec, TargetKind, WorkloadId


def find_container_images(ctx: DocumentContext, obj: Node, path: nodes.YamlPath = ()) -> None:
    """Targets for every container image of ``obj`` (a document root or a list item)."""
    found = containers_of(obj)
    if not found.slots and found.cut is None:
        return
    workload, annotations = ctx.identity(obj)
    if found.cut is not None:
        ctx.problem(
            f"{workload}: stopped looking for containers ({found.cut}); images past that "
            f"point are not read",
            obj,
        )
    names: list[str] = []
    for slot in found.slots:
        names.append(slot.display)
        policy = annotations.policies.get(slot.display)
        if slot.own is not None and slot.own != slot.display:
            if slot.own not in names:
                names.append(slot.own)  # tag.<own name> is a policy for each of them
            policy = policy or annotations.policies.get(slot.own)
        if policy is None and annotations.automation.automated:
            policy = annotations.default_policy(slot.field, slot.own)
        _add_container(
            ctx,
            slot.node,
            (*path, *slot.path),
            workload=workload,
            name=slot.display,
            annotations=annotations,
            policy=policy,
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
    policy: PolicySpec | None,
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
    if not automation.automated:
        policy = None
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
