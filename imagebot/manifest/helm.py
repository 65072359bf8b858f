"""Find images in HelmRelease values, in the shapes Flux v1 recognised.

For ``helm.toolkit.fluxcd.io`` and Flux v1's ``helm.fluxcd.io``: the values themselves are the
container ``chart-image``, and each top-level mapping value is a container named by its key.
Each may hold ``image: repo:tag``, ``image: repo`` + ``tag``, ``image: {repository, tag}``, with
an optional ``registry`` beside ``image`` or inside it. Nothing deeper is guessed at. The
Kustomize ``images`` of ``spec.postRenderers[].kustomize`` (helm-controller v2beta1, v2beta2,
v2) are read as a Kustomization's are, named for the annotations by ``kustomize``'s rule.
"""

from __future__ import annotations

from imagebot.manifest import nodes
from imagebot.manifest.annotations import WorkloadAnnotations
from imagebot.manifest.compose import NULL_TAG, STR_TAG, MappingNode, Node, ScalarNode
from imagebot.manifest.context import DocumentContext, is_placeholder
from imagebot.manifest.kustomize import find_entries
from imagebot.manifest.objects import is_helm_release
from imagebot.model import PolicySpec, Problem, ProblemCode, TargetKind, WorkloadId
from imagebot.records import record

CHART_IMAGE = "chart-image"
POST_RENDERER_GROUP = "helm.toolkit.fluxcd.io/"  # Flux v1's helm-operator had no post-renderers


def find_helm_images(ctx: DocumentContext, obj: Node, path: nodes.YamlPath = ()) -> None:
    if not is_helm_release(obj):
        return
    release = _Release(ctx, *ctx.identity(obj))
    found = _post_renderer_images(release, obj, path)
    values = nodes.get(nodes.get(obj, "spec"), "values")
    if not isinstance(values, MappingNode):
        ctx.report_unknown_containers(release.annotations, found, release.workload)
        return
    base = (*path, "spec", "values")
    keel = next((k for k, v in values.value if nodes.text(k) == "keel"), None)
    if keel is not None and isinstance(nodes.get(values, "keel"), MappingNode):
        # Keel's Helm provider reads its policy from the chart's values; imagebot reads the
        # HelmRelease's annotations, so this block would silently do nothing.
        ctx.problems.append(
            Problem(
                f"warning: {release.workload}: Keel's chart values (keel:) are not read; "
                f"annotate the HelmRelease with keel.sh/policy (or imagebot.io/automated and "
                f"imagebot.io/tag.<container>) instead",
                ctx.file,
                ctx.line(keel),
                code=ProblemCode.MANIFEST_WARNING,
            )
        )
    if release.find_in(values, base, CHART_IMAGE):
        found.append(CHART_IMAGE)
    for key_node, child in nodes.items(values):
        key = nodes.text(key_node)
        if (
            key is not None
            and isinstance(child, MappingNode)
            and release.find_in(child, (*base, key), key)
        ):
            found.append(key)
    ctx.report_unknown_containers(release.annotations, found, release.workload)


def _post_renderer_images(release: _Release, obj: Node, path: nodes.YamlPath) -> list[str]:
    """Targets for ``spec.postRenderers[].kustomize.images``; the names the entries answer to."""
    if not (nodes.get_text(obj, "apiVersion") or "").startswith(POST_RENDERER_GROUP):
        return []
    entries: list[tuple[nodes.YamlPath, Node]] = []
    renderers = nodes.sequence(nodes.get(nodes.get(obj, "spec"), "postRenderers"))
    for index, renderer in enumerate(renderers):
        images = nodes.sequence(nodes.get(nodes.get(renderer, "kustomize"), "images"))
        at = (*path, "spec", "postRenderers", index, "kustomize", "images")
        entries.extend(((*at, number), entry) for number, entry in enumerate(images))
    if not entries and not release.annotations.aliases:
        return []
    return find_entries(release.ctx, entries, release.workload, release.annotations)


@record
class _Release:
    ctx: DocumentContext
    workload: WorkloadId
    annotations: WorkloadAnnotations

    def find_in(self, values: Node, path: nodes.YamlPath, container: str) -> bool:
        """Add the image of one values mapping, if it has one of the known shapes."""
        image = nodes.get(values, "image")
        if isinstance(image, MappingNode):
            repository = nodes.string(nodes.get(image, "repository"))
            registry = nodes.string(nodes.get(image, "registry"))
            if repository is None:
                return False
            name = f"{registry}/{repository}" if registry else repository
            return self.add_tag((*path, "image", "tag"), nodes.get(image, "tag"), name, container)
        written = nodes.string(image)
        if image is None or written is None or is_placeholder(written):
            return False
        registry = nodes.string(nodes.get(values, "registry"))
        name = f"{registry}/{written}" if registry else written
        tag = nodes.get(values, "tag")
        if tag is not None and ":" not in written.rsplit("/", 1)[-1]:
            return self.add_tag((*path, "tag"), tag, name, container)
        return self.add(image, (*path, "image"), name, container, "image")

    def add_tag(self, path: nodes.YamlPath, tag: Node | None, name: str, container: str) -> bool:
        value = nodes.text(tag)
        # An empty or null tag means "the chart's appVersion": there is no value to rewrite.
        if not isinstance(tag, ScalarNode) or not value or tag.tag == NULL_TAG:
            return False
        if is_placeholder(name) or (tag.tag == STR_TAG and is_placeholder(value)):
            return False
        return self.add(tag, path, f"{name}:{value}", container, "tag")

    def add(self, node: Node, path: nodes.YamlPath, text: str, container: str, part: str) -> bool:
        """One target for the scalar ``node`` that holds (part of) the reference ``text``."""
        ref = self.ctx.parse_image(node, text)
        if ref is None:
            return False
        self.ctx.add(
            node,
            path,
            TargetKind.HELM,
            ref,
            self.workload,
            container=container,
            automation=self.annotations.automation,
            policy=self.policy(container),
            part=part,
        )
        return True

    def policy(self, container: str) -> PolicySpec | None:
        if not self.annotations.automation.automated:
            return None
        return self.annotations.policies.get(container) or self.annotations.default_policy()
