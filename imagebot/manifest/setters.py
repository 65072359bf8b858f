"""Flux v2 setter markers and the ImagePolicy / ImageRepository objects they name.

A marker is a comment ``# {"$imagepolicy": "ns:name"}`` (full reference) or ``"ns:name:tag"``,
``:name``, ``:digest`` after a scalar on the same line. Markers are found per file; resolving them
needs every policy in the tree, so ``resolve_markers`` runs once the whole tree is read. Flux's
policies become ``PolicySpec``s where they are read: ``semver:RANGE``, ``alphabetical:asc``,
``numerical:desc``, with the policy's ``filterTags``.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import re
from collections.abc import Iterable, Sequence

from imagebot.errors import ReferenceError_
from imagebot.manifest import kustomize, nodes
from imagebot.manifest.compose import NULL_TAG, STR_TAG, Node, ScalarNode
from imagebot.manifest.context import DocumentContext
from imagebot.manifest.objects import container_on_path, object_at
from imagebot.model import Location, PolicySpec, Problem, ProblemCode, Target, TargetKind
from imagebot.records import record
from imagebot.refs import ImageRef, parse_reference

# A marker's JSON inside a longer comment, to tell its author why it does nothing.
MARKER = re.compile(r'\{\s*"\$imagepolicy"\s*:\s*"([^"]*)"\s*\}')
SCREEN = '"$imagepolicy"'  # what Flux screens files for before parsing them
_BREAK = re.compile(f"[{nodes.LINE_BREAKS}]")
FLUX_IMAGE_GROUP = "image.toolkit.fluxcd.io/"
PARTS = ("tag", "name", "digest")


@record
class SetterMark:
    """A marked scalar before its policy is known: ``template`` lacks image and policy."""

    template: Target
    namespace: str
    policy: str


@record
class FluxObject:
    """An ImagePolicy (``policy`` set; its ``source`` is filled in by the marker that names it)
    or ImageRepository (``image`` set) found in the tree."""

    kind: str
    namespace: str | None
    name: str
    file: str
    line: int
    image: str | None = None
    repository: tuple[str | None, str] | None = None
    policy: PolicySpec | None = None
    pin_digest: bool = False


def find_markers(contexts: Sequence[DocumentContext], source: str) -> list[SetterMark]:
    """Markers of one file; ``contexts`` are its documents in order.

    Flux's rule (kyaml's ``fieldmeta``): the scalar's line comment, with its leading ``#``s cut
    off, must be exactly one JSON object of strings with a non-empty ``"$imagepolicy"``. A
    comment that holds a marker and more text is no marker to Flux: a warning, not a target.
    """
    if SCREEN not in source:
        return []
    scalars: list[tuple[int, int, DocumentContext, nodes.YamlPath, ScalarNode]] = []
    for ctx in contexts:
        for path, node in nodes.walk_scalars(ctx.root):
            scalars.append((int(node.end_mark.index), int(node.start_mark.index), ctx, path, node))
    scalars.sort(key=lambda item: item[0])
    ends = [item[0] for item in scalars]
    marks: list[SetterMark] = []
    seen: set[int] = set()
    at = source.find(SCREEN)
    while at >= 0:
        token, at = at, source.find(SCREEN, at + len(SCREEN))
        if any(
            start <= token < end for end, start, *_ in scalars[bisect.bisect_right(ends, token) :]
        ):
            continue  # the text is inside a string or block scalar: not a comment
        index = bisect.bisect_right(ends, token) - 1
        line_start = max(source.rfind(c, 0, token) for c in nodes.LINE_BREAKS) + 1
        # A block scalar ends where the next line starts: a comment there follows no value.
        follows = index >= 0 and ends[index] > line_start
        comment = source.find("#", ends[index] if follows else line_start, token)
        if comment < 0 or comment in seen:
            continue
        seen.add(comment)
        line_end = _BREAK.search(source, token)
        text = source[comment : line_end.start() if line_end else len(source)]
        line = source.count("\n", 0, comment) + 1
        ref = marker_ref(text)
        if ref is None:
            _warn_ignored(contexts[0], text, line)
            continue
        if not follows:
            problem = Problem(f"setter marker {text.strip()!r} follows no value on its line")
            contexts[0].problems.append(
                dataclasses.replace(problem, file=contexts[0].file, line=line)
            )
            continue
        _, _, ctx, path, node = scalars[index]
        mark = _mark(ctx, path, node, ref)
        if mark is not None:
            marks.append(mark)
    return marks


def marker_ref(comment: str) -> str | None:
    """The ``$imagepolicy`` reference of a comment (``# ...`` to the end of its line) that Flux
    reads as a marker, else None: all of it after the ``#``s must be one JSON object whose
    values are all strings (Go decodes it into ``map[string]string``, the last of repeated
    keys winning), and the reference must not be empty."""
    try:
        parsed = json.loads(comment.lstrip("#"), object_pairs_hook=dict)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
        return None
    ref = parsed.get("$imagepolicy")
    return ref if isinstance(ref, str) and ref else None


def _warn_ignored(ctx: DocumentContext, comment: str, line: int) -> None:
    """A comment that holds a marker beside other text: Flux ignores it, and so does imagebot,
    but its author meant something; say so."""
    found = MARKER.search(comment)
    if found is None:
        return  # a comment that mentions "$imagepolicy" and is nothing like a marker
    before = comment[: found.start()].lstrip("#").strip()
    where = "before" if before else "after"
    ctx.problems.append(
        Problem(
            f"warning: text {where} the marker: Flux ignores this marker (the whole comment "
            f"must be the JSON object); imagebot ignores it too: move the text to a comment of "
            f"its own line",
            ctx.file,
            line,
            found.group(0),
            code=ProblemCode.MANIFEST_WARNING,
        )
    )


def _mark(
    ctx: DocumentContext, path: nodes.YamlPath, node: ScalarNode, ref: str
) -> SetterMark | None:
    pieces = ref.split(":")
    if (
        len(pieces) not in (2, 3)
        or not all(pieces)
        or (len(pieces) == 3 and pieces[2] not in PARTS)
    ):
        ctx.problem(f"setter marker {ref!r} is not NAMESPACE:POLICY[:tag|:name|:digest]", node)
        return None
    part = pieces[2] if len(pieces) == 3 else "image"
    # ``tag: 1.10`` is a float to YAML but its text is the tag: a tag field may be any scalar.
    if not node.value or (node.tag != STR_TAG and (part != "tag" or node.tag == NULL_TAG)):
        ctx.problem(f"setter marker {ref!r} is on a value that is not a string", node)
        return None
    obj = object_at(ctx.document, ctx.root, path)
    workload, annotations = kustomize.identity(ctx, obj)
    container = container_on_path(ctx.root, path)
    template = Target(
        location=ctx.location(node),
        kind=TargetKind.SETTER,
        image=ImageRef(registry="", repository=""),
        workload=workload,
        container=container,
        automation=annotations.automation,
        yaml_path=path,
        field_part=part,
        current_value=str(node.value),
    )
    return SetterMark(template, pieces[0], pieces[1])


def read_flux_object(ctx: DocumentContext, obj: Node) -> FluxObject | None:
    """An ImagePolicy or ImageRepository in this document, if it is one."""
    kind = nodes.get_text(obj, "kind")
    if kind not in ("ImagePolicy", "ImageRepository"):
        return None
    if not (nodes.get_text(obj, "apiVersion") or "").startswith(FLUX_IMAGE_GROUP):
        return None
    metadata, spec = nodes.get(obj, "metadata"), nodes.get(obj, "spec")
    name = nodes.get_text(metadata, "name")
    if name is None:
        return None
    found = FluxObject(kind, nodes.get_text(metadata, "namespace"), name, ctx.file, ctx.line(obj))
    if kind == "ImageRepository":
        return dataclasses.replace(found, image=nodes.get_text(spec, "image"))
    ref = nodes.get(spec, "imageRepositoryRef")
    policy = nodes.get(spec, "policy")
    text: str | None = None
    if (semver := nodes.get_text(policy, "semver", "range")) is not None:
        text = f"semver:{semver}"
    for order_kind in ("alphabetical", "numerical"):
        if nodes.get(policy, order_kind) is not None:
            text = f"{order_kind}:{nodes.get_text(policy, order_kind, 'order') or 'asc'}"
    reflect = nodes.get_text(spec, "digestReflectionPolicy") or "Never"
    return dataclasses.replace(
        found,
        repository=(
            nodes.get_text(ref, "namespace") or found.namespace,
            nodes.get_text(ref, "name") or "",
        ),
        policy=PolicySpec(
            text,
            filter_pattern=nodes.get_text(spec, "filterTags", "pattern"),
            extract=nodes.get_text(spec, "filterTags", "extract"),
        )
        if text is not None
        else None,
        pin_digest=reflect in ("Always", "IfNotPresent"),
    )


def _lookup(
    objects: Iterable[FluxObject], kind: str, namespace: str | None, name: str
) -> FluxObject | None:
    """Exact namespace first; an object written without a namespace matches any."""
    candidates = [o for o in objects if o.kind == kind and o.name == name]
    exact = [o for o in candidates if o.namespace == namespace]
    loose = [o for o in candidates if o.namespace is None]
    chosen = exact or loose
    return chosen[0] if len(chosen) == 1 else None


def resolve_markers(
    marks: Sequence[SetterMark], objects: Sequence[FluxObject]
) -> tuple[list[Target], list[Problem]]:
    """Targets for the markers whose ImagePolicy and ImageRepository are in the tree."""
    targets: list[Target] = []
    problems: list[Problem] = []
    for mark in marks:
        where, automation = mark.template.location, mark.template.automation
        policy = _lookup(objects, "ImagePolicy", mark.namespace, mark.policy)
        name = f"{mark.namespace}/{mark.policy}"
        if policy is None or policy.repository is None:
            problems.append(
                Problem(
                    f"setter marker names ImagePolicy {name}, which is not in the tree "
                    f"(or is ambiguous); add it or fix the marker",
                    where.file,
                    where.line,
                )
            )
            continue
        repo = _lookup(objects, "ImageRepository", *policy.repository)
        if repo is None or not repo.image:
            problems.append(
                Problem(
                    f"ImagePolicy {name} refers to ImageRepository {policy.repository[1]!r}, "
                    f"which is not in the tree; add it",
                    policy.file,
                    policy.line,
                )
            )
            continue
        if policy.policy is None:
            problems.append(
                Problem(
                    f"ImagePolicy {name} has no semver, alphabetical or numerical policy",
                    policy.file,
                    policy.line,
                )
            )
            continue
        image = _image_of(repo.image, mark.template, where, problems)
        if image is None:
            continue
        targets.append(
            dataclasses.replace(
                mark.template,
                image=image,
                # Named as the marker names it: an object written without a namespace has none.
                policy=dataclasses.replace(policy.policy, source=f"ImagePolicy {name}"),
                automation=dataclasses.replace(automation, pin_digest=True)
                if policy.pin_digest
                else automation,
            )
        )
    return targets, problems


def _image_of(
    repository: str, template: Target, where: Location, problems: list[Problem]
) -> ImageRef | None:
    """The policy's repository with the version this field currently holds."""
    value, part = template.current_value, template.field_part
    try:
        base = parse_reference(repository)
        if part == "image":
            current = parse_reference(value)
            return dataclasses.replace(base, tag=current.tag, digest=current.digest)
        if part == "tag":
            return parse_reference(f"{repository}:{value}")
        if part == "digest":
            return parse_reference(f"{repository}@{value}")
        return base
    except ReferenceError_ as error:
        problems.append(
            Problem(f"{error}; fix the value or its ImageRepository", where.file, where.line, value)
        )
        return None
