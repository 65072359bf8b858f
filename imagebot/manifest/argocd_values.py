"""The values in the files Argo CD Image Updater writes back to, read as it reads them.

Whether two spellings name one image, a file's first YAML document, the node a dotted Helm
parameter name points at, and an image's current tag below a path. Pure; ``argocd_writeback``
decides which file and value an Application's write-back reaches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from imagebot.errors import ReferenceError_
from imagebot.manifest import nodes
from imagebot.manifest.compose import ComposeError, MappingNode, Node, compose_documents, split_bom
from imagebot.model import Target, TargetKind
from imagebot.refs import parse_reference


def same_name(written: str, image: str) -> bool:
    """Whether two spellings name one repository (``nginx`` and ``docker.io/library/nginx``)."""
    try:
        return parse_reference(written).name == parse_reference(image).name
    except ReferenceError_:
        return written == image


def first_document(text: str) -> Node | None:
    try:
        roots = compose_documents(split_bom(text)[1])
    except ComposeError:
        return None
    return roots[0] if roots and isinstance(roots[0], MappingNode) else None


def dotted(root: Node, key: str) -> tuple[nodes.YamlPath, Node | None]:
    """The node at a Helm parameter name: the whole key at the top if it is there, else each
    dot-separated part in turn, as Argo CD Image Updater looks it up."""
    whole = nodes.get(root, key)
    if whole is not None:
        return (key,), whole
    parts = tuple(key.split("."))
    return parts, nodes.resolve_path(root, parts)


def current_tags(targets: Sequence[Target]) -> Mapping[str, str]:
    """Each image's tag among ``targets``, for seeding a new file: a kustomization's images
    entry first (kustomize deploys its ``newTag``, whatever the resources write), else the
    first value found."""
    tags: dict[str, str] = {}
    ranked = sorted(targets, key=lambda t: t.kind is not TargetKind.KUSTOMIZE)  # stable
    for target in ranked:
        if target.image.tag:
            tags.setdefault(target.image.name, target.image.tag)
    return tags
