"""Copies of an image in one file that no target covers, and why imagebot leaves each alone.

A copy is a scalar value that parses as a reference of a watched repository, matched by
canonical name as ``set-image`` matches (``nginx`` is ``docker.io/library/nginx``): with a tag
or a digest anywhere, or bare as the value of an ``image`` key (``app: nginx`` is a label, not an
image). Comments, keys and multi-line text are not copies. Whatever the finders located covers
its own scalar and the name fields beside a tag or digest it was built from (``repository``,
``image``, a Kustomize entry's ``name``), so this holds for whatever the object walker reads.
Pure, and linear in the file: one walk over each document's scalars, a substring screen before
any reference is parsed. Deciding what a copy means for a command is the caller's.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Iterable, Sequence
from enum import StrEnum

from imagebot.errors import ReferenceError_
from imagebot.manifest import nodes
from imagebot.manifest.compose import MappingNode, Node, ScalarNode, SequenceNode
from imagebot.manifest.context import DocumentContext, is_placeholder
from imagebot.manifest.kustomize import images_path
from imagebot.manifest.objects import Object, is_helm_release, is_workload, object_id, objects_of
from imagebot.model import Location
from imagebot.records import record
from imagebot.refs import ImageRef, parse_reference

# The objects that name a repository to watch, not a version that runs (Flux's image API).
_WATCHERS = ("image.toolkit.fluxcd.io/",)
_TOKEN = re.compile(r"[A-Za-z0-9._/:@\[\]-]+")


class Reason(StrEnum):
    """Why a copy was left as it is; ``unread`` ones are copies imagebot could not read."""

    UNREAD_KIND = "unread-kind"  # in an object of a kind imagebot does not read
    NO_KIND = "no-kind"  # in a document with no kind
    UNREAD_FIELD = "unread-field"  # in an object imagebot reads, but not in an image field
    PLACEHOLDER = "placeholder"  # the value holds {{ }}, ${VAR} or $(VAR): a template's
    REFUSED_DOCUMENT = "refused-document"  # its document repeats a key (a problem says so)
    UNREAD_FILE = "unread-file"  # the file is not read as YAML (a template; a skip says so)

    @property
    def unread(self) -> bool:
        return self in (Reason.UNREAD_KIND, Reason.NO_KIND, Reason.UNREAD_FIELD)


@record
class Occurrence:
    """One copy of a watched image that no target covers.

    ``name`` is the canonical repository; ``holder`` the object it sits in
    (``AnalysisTemplate/default/check``, empty when there is none to name); ``field`` its path
    inside that object (``spec.metrics[0]...containers[0].image``); ``why`` the skip reason of a
    file not read as YAML.
    """

    location: Location
    value: str
    name: str
    reason: Reason
    holder: str = ""
    field: str = ""
    why: str = ""

    @property
    def message(self) -> str:
        """What a person reads after ``file:line:``."""
        value, at = self.value, f" at {self.field}" if self.field else ""
        if self.reason is Reason.UNREAD_KIND:
            kind = self.holder.split("/", 1)[0]
            return (
                f"{value} in {self.holder}{at} was not changed: imagebot does not read "
                f"{kind} objects"
            )
        if self.reason is Reason.NO_KIND:
            return f"{value}{at} was not changed: its document has no kind, so imagebot reads none"
        if self.reason is Reason.UNREAD_FIELD:
            return (
                f"{value} in {self.holder}{at} was not changed: not an image field imagebot updates"
            )
        if self.reason is Reason.PLACEHOLDER:
            return f"{value} was left alone: it holds a template placeholder"
        if self.reason is Reason.REFUSED_DOCUMENT:
            return f"{value} was left alone: its document repeats a key (reported as a problem)"
        return f"{value} was left alone: the file is not read as YAML ({self.why})"


def find_occurrences(
    contexts: Sequence[DocumentContext],
    names: Collection[str],
    covered: Iterable[tuple[int, nodes.YamlPath, str]],
    refused: Collection[int] = (),
) -> list[Occurrence]:
    """The copies of ``names`` in a file's documents that ``covered`` does not reach.

    ``covered`` holds ``(document, path, part)`` of every value the finders located (targets
    and setter marks); a ``tag`` or ``digest`` part also covers the name fields beside it.
    ``refused``: documents left without targets for a repeated key.
    """
    screen = _segments(names)
    if not screen or not any(s in ctx.source for s in screen for ctx in contexts[:1]):
        return []
    by_document: dict[int, list[tuple[nodes.YamlPath, str]]] = {}
    for document, path, part in covered:
        by_document.setdefault(document, []).append((path, part))
    found: list[Occurrence] = []
    for ctx in contexts:
        reader = _Reader(ctx, names, screen, by_document.get(ctx.document, []))
        found.extend(reader.occurrences(refused=ctx.document in refused))
    return found


def find_occurrences_in_text(
    body: str, file: str, names: Collection[str], why: str
) -> list[Occurrence]:
    """Copies in a file that is not read as YAML (a Helm template): reference-like words on
    each line, ``repo:{{ .Values.tag }}`` included, each reported once with the skip's reason."""
    screen = _segments(names)
    if not any(s in body for s in screen):
        return []
    found: list[Occurrence] = []
    for number, line in enumerate(body.split("\n"), start=1):
        if not any(s in line for s in screen):
            continue
        for match in _TOKEN.finditer(line):
            word = match.group(0)
            # A name alone (a label, ``name: nginx``) is no copy; one before ``{{`` or
            # ``${`` (``repo:{{ .Values.tag }}``) is.
            after = line[match.end() : match.end() + 1]
            templated = word.endswith((":", "@")) and after != "" and after in "{$"
            ref = _reference(word.rstrip(":@"), bare=templated)
            if ref is not None and ref.name in names:
                location = Location(file, number, match.start() + 1)
                found.append(Occurrence(location, word, ref.name, Reason.UNREAD_FILE, why=why))
    return found


def _segments(names: Collection[str]) -> frozenset[str]:
    """The last path component of each name: every spelling of the reference contains it."""
    return frozenset(name.rsplit("/", 1)[-1] for name in names)


def _reference(value: str, *, bare: bool) -> ImageRef | None:
    if not value or len(value) > 512 or any(c.isspace() for c in value):
        return None
    try:
        ref = parse_reference(value)
    except ReferenceError_:
        return None
    return ref if bare or ref.tag or ref.digest else None


class _Reader:
    """Reads one document's copies: which object each sits in, and what covers what."""

    def __init__(
        self,
        ctx: DocumentContext,
        names: Collection[str],
        screen: frozenset[str],
        covered: list[tuple[nodes.YamlPath, str]],
    ) -> None:
        self.ctx, self.names, self.screen = ctx, names, screen
        self.objects = {obj.path: obj for obj in objects_of(ctx.document, ctx.root)}
        self.covered: set[int] = set()
        self.read_objects: set[nodes.YamlPath] = set()
        # What each holder is, once per object: a mapping of n copies (a ConfigMap's data, or
        # one key repeated) asked it per copy, n lookups in n keys each.
        self._held: dict[nodes.YamlPath, _Holder] = {}
        for path, part in covered:
            node = nodes.resolve_path(ctx.root, path)
            if node is not None:
                self.covered.add(id(node))
            holder = self._holder(path)
            if holder is not None:
                self.read_objects.add(holder.path)
            if part in ("tag", "digest"):  # the name this version was joined to
                beside = nodes.resolve_path(ctx.root, path[:-1])
                if isinstance(beside, MappingNode):
                    self.covered.update(id(v) for _, v in beside.value if isinstance(v, ScalarNode))

    def _holder(self, path: nodes.YamlPath) -> Object | None:
        return self.objects.get(path[:2]) or self.objects.get(())

    def occurrences(self, *, refused: bool) -> list[Occurrence]:
        if not self._may_hold_copies():
            return []
        found: list[Occurrence] = []
        for path, node in nodes.walk_scalars(self.ctx.root):
            value = node.value
            if id(node) in self.covered or not self._candidate(value, path[-1] if path else None):
                continue
            occurrence = self._classify(path, node, value, refused)
            if occurrence is not None:
                found.append(occurrence)
        return sorted(found, key=lambda o: (o.location.line, o.location.column))

    def _may_hold_copies(self) -> bool:
        """A pass without paths first: does a scalar no target covers hold a watched name's
        last segment, and a tag or digest, a placeholder, or is it an ``image`` value? Only
        such a scalar can be a copy, and in most files the only one is the target itself."""
        seen: set[int] = set()
        stack: list[Node] = [self.ctx.root]
        covered, candidate = self.covered, self._candidate
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, MappingNode):
                for key, value in node.value:
                    if not isinstance(value, ScalarNode):
                        stack.append(value)
                    elif id(value) not in covered and candidate(value.value, key.value):
                        return True
            elif isinstance(node, SequenceNode):
                for item in node.value:
                    if not isinstance(item, ScalarNode):
                        stack.append(item)
                    elif id(item) not in covered and candidate(item.value, None):
                        return True
            elif id(node) not in covered and candidate(node.value, None):  # a scalar document
                return True
        return False

    def _candidate(self, value: object, key: object) -> bool:
        """Could this scalar be a copy? It holds a watched name's last segment, and, unless it
        is an ``image`` value, a tag or digest (``:`` or ``@``) or a placeholder: an object's
        name or label holds the repository's name more often than not, and is not parsed."""
        if not isinstance(value, str) or not any(s in value for s in self.screen):
            return False
        return key == "image" or ":" in value or "@" in value or is_placeholder(value)

    def _classify(
        self, path: nodes.YamlPath, node: ScalarNode, value: str, refused: bool
    ) -> Occurrence | None:
        placeholder = is_placeholder(value)
        if placeholder:
            cut = min(value.find(m) for m in ("{{", "${", "$(", "<%") if m in value)
            ref = _reference(value[:cut].rstrip(":@"), bare=True) if cut else None
        else:
            ref = _reference(value, bare=bool(path) and path[-1] == "image")
        if ref is None or ref.name not in self.names:
            return None
        obj = self._holder(path)
        inner = path[len(obj.path) :] if obj is not None else path
        held = _NO_HOLDER if obj is None else self._held.get(obj.path) or self._describe(obj)
        if held.names_only(inner):
            return None
        if refused:
            reason = Reason.REFUSED_DOCUMENT
        elif placeholder:
            reason = Reason.PLACEHOLDER
        elif held.reads:
            reason = Reason.UNREAD_FIELD
        else:
            reason = Reason.UNREAD_KIND if held.name else Reason.NO_KIND
        location = self.ctx.location(node)
        return Occurrence(location, value, ref.name, reason, held.name, _dotted(inner))

    def _describe(self, obj: Object) -> _Holder:
        api_version = nodes.get_text(obj.node, "apiVersion") or ""
        held = self._held[obj.path] = _Holder(
            name=self._name_of(obj),
            reads=self._reads(obj),
            watcher=api_version.startswith(_WATCHERS),
            images=images_path(obj.node, self.ctx.file),
        )
        return held

    def _name_of(self, obj: Object) -> str:
        """``Kind/namespace/name`` of the holder; a kind-less kustomization.yaml is named by its
        directory; an object with no kind has no name to give."""
        if nodes.get_text(obj.node, "kind"):
            return str(object_id(obj.node))
        if images_path(obj.node, self.ctx.file) is not None:
            return f"Kustomization/{posixpath.dirname(self.ctx.file) or '.'}"
        return ""

    def _reads(self, obj: Object) -> bool:
        """Whether imagebot reads images in this object at all."""
        node: Node = obj.node
        return (
            obj.path in self.read_objects
            or is_workload(node)
            or is_helm_release(node)
            or images_path(node, self.ctx.file) is not None
        )


@record
class _Holder:
    """What the object holding copies is: its name, whether imagebot reads it, and where it
    names repositories rather than versions."""

    name: str
    reads: bool
    watcher: bool  # Flux's image objects
    images: tuple[str, ...] | None  # a Kustomization's images list

    def names_only(self, inner: nodes.YamlPath) -> bool:
        """Values that name a repository rather than run a version of it: Flux's image
        objects, and a Kustomize entry's ``name``/``newName`` (its ``newTag`` is the target)."""
        where = self.images
        return self.watcher or (
            where is not None and inner[: len(where)] == where and len(inner) == len(where) + 2
        )


_NO_HOLDER = _Holder(name="", reads=False, watcher=False, images=None)


def _dotted(path: nodes.YamlPath) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text
