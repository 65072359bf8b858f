"""Where Argo CD Image Updater's git write-back puts a new tag, as targets imagebot rewrites.

For an Application whose source is this repository (``argocd_repo``), its ``write-back-target``
says where: ``kustomization[:path]`` the ``images:`` entry of that kustomization;
``helmvalues[:path]`` the keys the ``helm.*`` annotations name in that values file; otherwise
the ``.argocd-source-<app>.yaml`` in the Application's path (``kustomize.images`` or
``helm.parameters``). A missing ``.argocd-source`` file of a Kustomize application is seeded
with the current image, in Argo CD Image Updater's layout, so the rewriter changes (and proves)
one value of it like any other. Pure: files come in through ``read``.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from imagebot.manifest import nodes
from imagebot.manifest.argocd import ArgoApp, ArgoImage, ArgoSource
from imagebot.manifest.argocd_repo import same_repository
from imagebot.manifest.argocd_values import dotted, first_document, same_name
from imagebot.manifest.compose import (
    ScalarNode,
    split_bom,
)
from imagebot.manifest.context import DocumentContext
from imagebot.manifest.kustomize import KUSTOMIZATION_FILES
from imagebot.manifest.scan import scan_file
from imagebot.model import Automation, Problem, ProblemCode, Target, TargetKind

KUSTOMIZATION = "kustomization"
HELM_VALUES = "helmvalues"
DEFAULT_VALUES = "values.yaml"
_AUTOMATED = Automation(automated=True)
_PINNED = Automation(automated=True, pin_digest=True)  # the digest strategy


@dataclass(slots=True)
class Resolved:
    """The targets the Applications point at, the problems met, and the texts of the files
    they are in (a seeded ``.argocd-source`` file among them, also listed in ``created``)."""

    targets: list[Target] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)


def resolve_applications(
    apps: Sequence[ArgoApp],
    read: Callable[[str], str | None],
    ours: Callable[[], Sequence[str]],
    current: Callable[[str, str], str | None],
) -> Resolved:
    """Targets for each Application's images. ``read`` gives a file's text (None: no such
    file); ``ours`` the repository's own URLs (asked only when an Application is met);
    ``current(path, image)`` the tag an image has under ``path`` now, to seed a new file."""
    resolved = Resolved()
    urls: Sequence[str] | None = None
    for app in apps:
        if urls is None:
            urls = ours()
        source = _source(app, urls, resolved)
        if source is not None:
            _Writer(app, source, read, current, resolved).resolve()
    return resolved


def _source(app: ArgoApp, urls: Sequence[str], resolved: Resolved) -> ArgoSource | None:
    """The source Argo CD Image Updater would write to, when it is this repository."""
    mine = [s for s in app.sources if same_repository(app.git_repository or s.repo_url, urls)]
    if not mine:
        why = (
            "imagebot knows no URL of this repository (it has no remote)"
            if not urls
            else "its source is another repository"
        )
        resolved.problems.append(
            Problem(
                f"{app.workload}: not updated here: {why}",
                app.file,
                app.line,
                code=ProblemCode.COPY_LEFT_ALONE,
            )
        )
        return None
    # As Argo CD Image Updater: the first source that says Helm or Kustomize, else the first.
    return next((s for s in mine if s.kind is not None), mine[0])


@dataclass(slots=True)
class _Writer:
    app: ArgoApp
    source: ArgoSource
    read: Callable[[str], str | None]
    current: Callable[[str, str], str | None]
    out: Resolved

    def resolve(self) -> None:
        target = self.app.target or ""
        images = [image for image in self.app.images if image.policy is not None]
        if not images:
            return
        if target.startswith(KUSTOMIZATION):
            self.kustomization(self._under(target, KUSTOMIZATION), images)
        elif target.startswith(HELM_VALUES):
            values = self._under(target, HELM_VALUES)
            if target == HELM_VALUES:
                values = posixpath.join(values, DEFAULT_VALUES)
            self.helm_values(values, images)
        else:
            # Only the default file is created: its directory is the path's, which exists.
            self.overrides(target or self._default_file(), images, create=not target)

    def _under(self, target: str, prefix: str) -> str:
        """``kustomization``: the app's path; ``:rel`` below it; ``:/abs`` from the top."""
        rest = target.removeprefix(prefix).removeprefix(":")
        if rest.startswith("/"):
            return posixpath.normpath(rest.lstrip("/") or ".")
        return posixpath.normpath(posixpath.join(self.source.path, rest or "."))

    def _default_file(self) -> str:
        """``.argocd-source-<ns>_<app>.yaml`` where it exists (an Application outside Argo CD's
        namespace), else ``.argocd-source-<app>.yaml``, which is created when missing."""
        if self.app.namespace:
            spaced = f".argocd-source-{self.app.namespace}_{self.app.name}.yaml"
            if self.read(posixpath.join(self.source.path, spaced)) is not None:
                return posixpath.join(self.source.path, spaced)
        return posixpath.join(self.source.path, f".argocd-source-{self.app.name}.yaml")

    def problem(self, message: str, image: str | None = None) -> None:
        self.out.problems.append(
            Problem(f"{self.app.workload}: {message}", self.app.file, self.app.line, image)
        )

    def text(self, file: str) -> str | None:
        text = self.out.texts.get(file)
        if text is None:
            text = self.read(file)
            if text is not None:
                self.out.texts[file] = text
        return text

    def claim(self, target: Target, image: ArgoImage) -> None:
        self.out.targets.append(
            dataclasses.replace(
                target,
                workload=self.app.workload,
                container=image.alias,
                policy=image.policy,
                automation=_PINNED if image.pin_digest else _AUTOMATED,
            )
        )

    def kustomization(self, directory: str, images: Sequence[ArgoImage]) -> None:
        """The ``newTag`` of the entry named as ``kustomize edit set image`` would name it."""
        file, text = self._kustomization_file(directory)
        if file is None or text is None:
            self.problem(f"write-back-target: no kustomization file in {directory}/")
            return
        found = scan_file(text, file).targets
        for image in images:
            wanted = image.kustomize_name or image.image
            entries = [
                t for t in found
                if t.kind is TargetKind.KUSTOMIZE and t.field_part == "tag"
                and same_name(t.container or "", wanted)
            ]  # fmt: skip
            if not entries:
                self.problem(
                    f"{file} has no images entry named {wanted!r} with a newTag; add one "
                    f"(imagebot changes values, it does not add entries)",
                    image.image,
                )
                continue
            for entry in entries:
                if not same_name(entry.image.name, image.image):
                    self.problem(
                        f"the images entry {wanted!r} of {file} deploys {entry.image.name}, not "
                        f"{image.image}; set its newName to {image.image}",
                        image.image,
                    )
                    continue
                digest = [
                    t for t in found
                    if t.field_part == "digest" and t.yaml_path[:-1] == entry.yaml_path[:-1]
                ]  # fmt: skip
                if image.pin_digest and not digest:
                    self.problem(
                        f"update-strategy digest writes a digest, and the images entry "
                        f"{wanted!r} of {file} has no digest field; add one",
                        image.image,
                    )
                    continue
                for found_target in (entry, *digest):
                    self.claim(found_target, image)

    def _kustomization_file(self, directory: str) -> tuple[str | None, str | None]:
        for name in sorted(KUSTOMIZATION_FILES):
            file = posixpath.normpath(posixpath.join(directory, name))
            text = self.text(file)
            if text is not None:
                return file, text
        return None, None

    def helm_values(self, file: str, images: Sequence[ArgoImage]) -> None:
        """The keys named by ``helm.image-tag`` (or ``helm.image-spec``) in a values file."""
        text = self.text(file)
        if text is None:
            self.problem(f"write-back-target: no values file {file}")
            return
        root = first_document(text)
        if root is None:
            self.problem(f"write-back-target: {file} is not a YAML mapping")
            return
        ctx = DocumentContext(file, split_bom(text)[1], 0, root)
        for image in images:
            if image.helm_spec:
                self._helm_key(ctx, image, image.helm_spec, "image")
            elif image.helm_name and image.helm_tag:
                self._helm_key(ctx, image, image.helm_tag, "tag")
            else:
                self.problem(
                    f"{image.alias} needs {image.alias}.helm.image-name and .helm.image-tag "
                    f"(or .helm.image-spec) for helmvalues write-back",
                    image.image,
                )

    def _helm_key(self, ctx: DocumentContext, image: ArgoImage, key: str, part: str) -> None:
        path, node = dotted(ctx.root, key)
        if not isinstance(node, ScalarNode):
            self.problem(
                f"{ctx.file} has no value at {key!r}; add it (imagebot changes values, it does "
                f"not add keys)",
                image.image,
            )
            return
        value = str(node.value)
        written = value if part == "image" else f"{image.image}:{value}"
        self._add(ctx, node, path, kind=TargetKind.HELM, written=written, part=part, image=image)

    def _add(
        self,
        ctx: DocumentContext,
        node: ScalarNode,
        path: nodes.YamlPath,
        *,
        kind: TargetKind,
        written: str,
        part: str,
        image: ArgoImage,
    ) -> None:
        ref = ctx.parse_image(node, written)
        if ref is None:
            self.out.problems.extend(ctx.problems)
            ctx.problems.clear()
            return
        if not same_name(ref.name, image.image):
            self.problem(f"{ctx.file}:{ctx.line(node)} holds {ref.name}, not {image.image}")
            return
        if image.pin_digest and part != "image":
            self.problem(
                f"update-strategy digest writes tag@digest, and {ctx.file}:{ctx.line(node)} "
                f"holds the tag alone; name a value holding the whole reference "
                f"({image.alias}.helm.image-spec)",
                image.image,
            )
            return
        automation = _PINNED if image.pin_digest else _AUTOMATED
        ctx.add(node, path, kind, ref, self.app.workload, container=image.alias,
                automation=automation, policy=image.policy, part=part)  # fmt: skip
        self.out.targets.append(ctx.targets.pop())

    def overrides(self, file: str, images: Sequence[ArgoImage], *, create: bool) -> None:
        """The ``.argocd-source`` file: ``kustomize.images`` or ``helm.parameters`` values."""
        text = self.text(file)
        kind = self.source.kind or self._kind_of_path()
        if text is None:
            if not create:
                self.problem(f"write-back-target: no file {file}; create it")
                return
            if kind != "kustomize":
                self.problem(
                    f"{file} does not exist; imagebot creates it for Kustomize applications "
                    f"only (write it with helm.parameters, or use write-back-target helmvalues)"
                )
                return
            text = self._seed(file, images)
            if text is None:
                return
        root = first_document(text)
        if root is None:
            self.problem(f"{file} is not a YAML mapping")
            return
        ctx = DocumentContext(file, split_bom(text)[1], 0, root)
        for image in images:
            if nodes.get(root, "kustomize") is not None:
                self._override_image(ctx, image)
            elif nodes.get(root, "helm") is not None:
                self._override_parameter(ctx, image)
            else:
                self.problem(f"{file} has neither kustomize.images nor helm.parameters")
                return

    def _kind_of_path(self) -> str | None:
        if self._kustomization_file(self.source.path)[0] is not None:
            return "kustomize"
        if self.read(posixpath.join(self.source.path, "Chart.yaml")) is not None:
            return "helm"
        return None

    def _seed(self, file: str, images: Sequence[ArgoImage]) -> str | None:
        """The file as Argo CD Image Updater writes it, holding each image's current tag."""
        lines = ["kustomize:\n", "  images:\n"]
        for image in images:
            tag = self.current(self.source.path, image.image)
            if tag is None:
                self.problem(
                    f"no tag of {image.image} found under {self.source.path}/ to start {file} from",
                    image.image,
                )
                continue
            named = f"{image.kustomize_name}=" if image.kustomize_name else ""
            lines.append(f"  - {named}{image.image}:{tag}\n")
        if len(lines) == 2:
            return None
        text = "".join(lines)
        self.out.texts[file] = text
        self.out.created.add(file)
        return text

    def _override_image(self, ctx: DocumentContext, image: ArgoImage) -> None:
        listed = nodes.sequence(nodes.get(nodes.get(ctx.root, "kustomize"), "images"))
        for index, item in enumerate(listed):
            value = nodes.string(item)
            if not isinstance(item, ScalarNode) or value is None:
                continue
            _, _, reference = value.rpartition("=")
            if same_name(reference, image.image):
                path = ("kustomize", "images", index)
                self._add(
                    ctx, item, path,
                    kind=TargetKind.ARGOCD, written=reference, part="image", image=image,
                )  # fmt: skip
                return
        self.problem(
            f"{ctx.file} lists no kustomize image {image.image}; add it (imagebot changes "
            f"values, it does not add entries)",
            image.image,
        )

    def _override_parameter(self, ctx: DocumentContext, image: ArgoImage) -> None:
        # An unnamed image's parameters are image.name and image.tag, as Argo CD writes them.
        spec, tag, name = (
            (image.helm_spec, image.helm_tag, image.helm_name) if image.named_alias
            else (None, None, None)
        )  # fmt: skip
        key, part = (spec, "image") if spec else (tag or "image.tag", "tag")
        name = name or "image.name"
        parameters = nodes.sequence(nodes.get(nodes.get(ctx.root, "helm"), "parameters"))
        for index, item in enumerate(parameters):
            if nodes.get_text(item, "name") != key:
                continue
            node = nodes.get(item, "value")
            if not isinstance(node, ScalarNode):
                break
            written = str(node.value)
            if part == "tag":
                listed = {nodes.get_text(p, "name"): nodes.get_text(p, "value")
                          for p in parameters}  # fmt: skip
                written = f"{listed.get(name) or image.image}:{written}"
            path = ("helm", "parameters", index, "value")
            self._add(
                ctx, node, path, kind=TargetKind.HELM, written=written, part=part, image=image
            )
            return
        self.problem(
            f"{ctx.file} has no helm parameter {key!r}; add it (imagebot changes values, it "
            f"does not add entries)",
            image.image,
        )
