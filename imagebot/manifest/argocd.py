"""Read Argo CD Image Updater's annotations on an Argo CD ``Application``, as that tool reads them.

An Application names its images in ``argocd-image-updater.argoproj.io/image-list``
(``[alias=]image[:constraint]``, comma-separated) and tunes each alias with
``<alias>.update-strategy``, ``<alias>.allow-tags`` and ``<alias>.ignore-tags`` (or the same keys
without an alias, for every image). This module turns them into imagebot ``PolicySpec``s and says
where Argo CD would write a new tag; it finds no target itself (``argocd_writeback`` does, in the
files the Application points at). Credentials named in annotations are never read.
"""

from __future__ import annotations

from collections.abc import Callable

from imagebot.errors import ReferenceError_
from imagebot.manifest import nodes
from imagebot.manifest.compose import Node
from imagebot.model import PolicySpec, Problem, ProblemCode, WorkloadId
from imagebot.records import record
from imagebot.refs import parse_reference

PREFIX = "argocd-image-updater.argoproj.io/"
IMAGE_LIST = PREFIX + "image-list"
WRITE_BACK_METHOD = PREFIX + "write-back-method"
WRITE_BACK_TARGET = PREFIX + "write-back-target"
APPLICATION_GROUP = "argoproj.io/"
_Warn = Callable[[str, int], None]
# Argo CD Image Updater's semver strategy with no constraint takes any version, prereleases too.
ANY_VERSION = ">=0.0.0-0"
# Strategy names, old and new, and the imagebot policy each becomes.
STRATEGIES: dict[str, str] = {
    "semver": "semver",
    "latest": "glob:*",
    "newest-build": "glob:*",
    "name": "alphabetical:asc",
    "alphabetical": "alphabetical:asc",
    "digest": "digest",  # the constraint's tag, pinned to its newest digest
}
# Keys read but not honoured, and why (per alias, or application-wide where Argo has both).
IGNORED: dict[str, str] = {
    "pull-secret": "names a Secret for the registry; repository content never names secrets, "
    "so imagebot uses its own registry credentials (docs/registries.md)",
    "platforms": "is not read: imagebot's platform is set in its configuration",
    "force-update": "is not read: imagebot updates only images it finds in the files",
    "git-branch": "is not read: imagebot commits to the branch it checked out, or to --push-branch",
}


@record
class ArgoImage:
    """One ``image-list`` entry: its alias (as annotation keys spell it), the image without its
    constraint, the policy its annotations make, and the Helm/Kustomize names for write-back."""

    alias: str
    image: str
    policy: PolicySpec | None  # None: no tag allowed, or digest without a tag (a problem)
    kustomize_name: str | None = None
    helm_name: str | None = None
    helm_tag: str | None = None
    helm_spec: str | None = None
    # The entry wrote ``alias=``. Only then are its own options read; helmvalues write-back
    # alone reads an unnamed image's helm.* keys under its path alias, as Argo CD's code does.
    named_alias: bool = False
    pin_digest: bool = False  # the digest strategy: the tag stays, its digest is written


@record
class ArgoSource:
    """One of ``spec.source`` / ``spec.sources[]``: where it reads from, and its kind if written."""

    repo_url: str
    path: str
    kind: str | None  # "helm" or "kustomize" when the source says so
    value_files: tuple[str, ...] = ()


@record
class ArgoApp:
    """An Application with an ``image-list``: its identity, sources, images and write-back."""

    workload: WorkloadId
    name: str
    namespace: str | None
    file: str
    line: int
    sources: tuple[ArgoSource, ...]
    images: tuple[ArgoImage, ...]
    target: str | None  # write-back-target as written
    git_repository: str | None  # the git-repository annotation, which overrides repoURL


def is_application(obj: Node) -> bool:
    api_version = nodes.get_text(obj, "apiVersion") or ""
    return nodes.get_text(obj, "kind") == "Application" and api_version.startswith(
        APPLICATION_GROUP
    )


def read_application(
    obj: Node, workload: WorkloadId, file: str
) -> tuple[ArgoApp | None, list[Problem]]:
    """The Application's automation, or None when it has no ``image-list``; with the problems
    and warnings its annotations raise (credentials named, strategies not followed)."""
    metadata = nodes.get(obj, "metadata")
    found: dict[str, tuple[str, int]] = {}
    annotations = nodes.get(metadata, "annotations")
    for key_node, value in nodes.items(annotations) if annotations is not None else []:
        key = nodes.text(key_node)
        text = nodes.text(value)
        if key is not None and key.startswith(PREFIX) and text is not None:
            found[key.removeprefix(PREFIX)] = (text, int(value.start_mark.line) + 1)
    if "image-list" not in found:
        return None, []
    problems: list[Problem] = []

    def warn(message: str, line: int) -> None:
        problems.append(Problem(message, file, line, code=ProblemCode.MANIFEST_WARNING))

    _lint_method(found, warn)
    text, line = found["image-list"]
    images: list[ArgoImage] = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        image = _read_image(
            entry, found, line=line, warn=warn, problems=problems, file=file, workload=workload
        )
        if image is not None:
            images.append(image)
    for key, (_, at) in sorted(found.items()):
        setting = key.rsplit(".", 1)[-1] if "." in key else key
        if setting in IGNORED:
            warn(f"annotation {PREFIX}{key} {IGNORED[setting]}", at)
    sources = _sources(obj)
    name = nodes.get_text(metadata, "name") or ""
    return (
        ArgoApp(
            workload=workload,
            name=name,
            namespace=nodes.get_text(metadata, "namespace"),
            file=file,
            line=int(obj.start_mark.line) + 1,
            sources=sources,
            images=tuple(images),
            target=found["write-back-target"][0].strip() if "write-back-target" in found else None,
            git_repository=found["git-repository"][0].strip()
            if "git-repository" in found
            else None,
        ),
        problems,
    )


def _lint_method(found: dict[str, tuple[str, int]], warn: _Warn) -> None:
    method, line = found.get("write-back-method", ("argocd", found["image-list"][1]))
    method = method.strip()
    kind, _, creds = method.partition(":")
    if kind == "argocd":
        warn(
            f"write-back-method {method!r} makes Argo CD Image Updater change the Application in "
            f"the cluster; imagebot writes Git only, as write-back-method 'git' does",
            line,
        )
    elif kind != "git":
        warn(f"write-back-method {method!r} is unknown; imagebot writes Git, as 'git' does", line)
    if creds.startswith("secret:"):
        warn(
            f"write-back-method {method!r} names a Secret for Git; repository content never "
            f"names secrets, so imagebot uses its own Git credentials",
            line,
        )


def _read_image(
    entry: str,
    found: dict[str, tuple[str, int]],
    *,
    line: int,
    warn: _Warn,
    problems: list[Problem],
    file: str,
    workload: WorkloadId,
) -> ArgoImage | None:
    """One ``[alias=]image[:constraint]`` entry with the annotations of its alias."""
    # The first "=" ends the alias, as Argo CD Image Updater splits it (a constraint may hold
    # one too: web=ghcr.io/acme/web:>=1.2).
    named, equals, reference = entry.partition("=")
    if not equals:
        named, reference = "", entry
    image, constraint = split_constraint(reference)
    try:
        ref = parse_reference(image)
    except ReferenceError_ as error:
        problems.append(Problem(f"image-list entry {entry!r}: {error}", file, line, image))
        return None
    # An unnamed image is named by its path without the registry, "/" as "_" (acme_web).
    path = ref.repository
    if not image.startswith("library/"):
        path = path.removeprefix("library/")
    alias = (named or path).replace("/", "_")

    def setting(name: str) -> tuple[str, int] | None:
        # Options of one image need an alias: Argo CD Image Updater looks an unnamed image's
        # options up under an empty alias, so only the application-wide keys reach it.
        own = found.get(f"{alias}.{name}") if named else None
        return own or found.get(name)

    strategy_text, strategy_line = setting("update-strategy") or ("semver", line)
    strategy = strategy_text.strip().lower()
    if strategy not in STRATEGIES:
        warn(f"update-strategy {strategy_text!r} of {alias} is unknown; semver is used", line)
        strategy = "semver"
    kind = STRATEGIES[strategy]
    allow = setting("allow-tags")
    ignore = setting("ignore-tags")
    policy: PolicySpec | None = None
    # Not "annotation ...": lint checks these where they govern a value, as ImagePolicy ones.
    source = f"{PREFIX}image-list of {workload} ({alias}, {strategy})"
    if kind == "digest" and not constraint:
        # Argo CD Image Updater refuses it too: the digest of which tag?
        problems.append(
            Problem(
                f"update-strategy digest of {alias} follows the digest of one tag: name it in "
                f"image-list ({image}:TAG)",
                file,
                strategy_line,
                image,
                code=ProblemCode.INVALID_POLICY,
            )
        )
    else:
        text = kind
        if kind == "semver":
            text = f"semver:{constraint or ANY_VERSION}"
        elif kind == "digest":
            text = f"glob:{constraint}"  # a tag holds no glob character: exactly that tag
        allowed, pattern = _allowed(allow, alias, problems, file)
        if allowed:
            policy = PolicySpec(
                text,
                source,
                filter_pattern=pattern,
                exclude=_ignored(ignore),
            )
    return ArgoImage(
        alias=alias,
        image=image,
        policy=policy,
        kustomize_name=_value(found.get(f"{alias}.kustomize.image-name")) if named else None,
        helm_name=_value(found.get(f"{alias}.helm.image-name")),
        helm_tag=_value(found.get(f"{alias}.helm.image-tag")),
        helm_spec=_value(found.get(f"{alias}.helm.image-spec")),
        named_alias=bool(named),
        pin_digest=kind == "digest",
    )


def split_constraint(reference: str) -> tuple[str, str | None]:
    """``("ghcr.io/a/app", "~1.2")`` for ``ghcr.io/a/app:~1.2``; a port is no constraint."""
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last or "@" in reference:
        return reference, None
    image, _, constraint = reference.rpartition(":")
    return image, constraint.strip() or None


def _allowed(
    allow: tuple[str, int] | None, alias: str, problems: list[Problem], file: str
) -> tuple[bool, str | None]:
    """Whether ``allow-tags`` allows any tag, and its filter pattern (None for ``any``): a value
    Argo CD Image Updater reads as "match nothing" allows none (and is a problem)."""
    if allow is None or allow[0].strip().lower() in ("", "any"):
        return True, None
    kind, colon, pattern = allow[0].strip().partition(":")
    if colon and kind.lower() == "regexp":
        return True, pattern
    problems.append(
        Problem(
            f"allow-tags {allow[0]!r} of {alias} is neither 'any' nor 'regexp:PATTERN', so "
            f"Argo CD Image Updater allows no tag; imagebot does not update this image",
            file,
            allow[1],
            code=ProblemCode.INVALID_POLICY,
        )
    )
    return False, None


def _ignored(ignore: tuple[str, int] | None) -> tuple[str, ...]:
    if ignore is None:
        return ()
    return tuple(p.strip() for p in ignore[0].split(",") if p.strip())


def _value(found: tuple[str, int] | None) -> str | None:
    return found[0].strip() or None if found is not None else None


def _sources(obj: Node) -> tuple[ArgoSource, ...]:
    spec = nodes.get(obj, "spec")
    written = [nodes.get(spec, "source"), *nodes.sequence(nodes.get(spec, "sources"))]
    sources: list[ArgoSource] = []
    for source in written:
        url = nodes.get_text(source, "repoURL")
        if source is None or url is None or nodes.get(source, "chart") is not None:
            continue  # a chart from a Helm repository has no files here
        helm = nodes.get(source, "helm")
        kind = "helm" if helm is not None else None
        kind = "kustomize" if nodes.get(source, "kustomize") is not None else kind
        files = tuple(
            text for item in nodes.sequence(nodes.get(helm, "valueFiles"))
            if (text := nodes.text(item))
        )  # fmt: skip
        path = (nodes.get_text(source, "path") or ".").strip("/") or "."
        sources.append(ArgoSource(url, path, kind, files))
    return tuple(sources)
