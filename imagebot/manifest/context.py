"""What the finders share while reading one document: its text, position and a target builder.

The finders (containers, Helm values, Kustomize images, setter markers) each turn nodes into
``Target``s and ``Problem``s through ``DocumentContext``; none of them reads files or edits text.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from imagebot.errors import ReferenceError_
from imagebot.manifest import nodes
from imagebot.manifest.annotations import WorkloadAnnotations, read_annotations
from imagebot.manifest.compose import Node, ScalarNode
from imagebot.manifest.objects import object_id
from imagebot.model import (
    Automation,
    Location,
    PolicySpec,
    Problem,
    Target,
    TargetKind,
    WorkloadId,
)
from imagebot.refs import ImageRef, parse_reference

# Values that are placeholders for a templating step, not references: not ours to judge.
_PLACEHOLDERS = ("{{", "${", "$(", "<%")


def is_placeholder(value: str) -> bool:
    return any(marker in value for marker in _PLACEHOLDERS)


@dataclass(slots=True)
class DocumentContext:
    """One composed document of one file; collects what the finders report."""

    file: str
    source: str
    document: int
    root: Node
    targets: list[Target] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _identities: dict[int, tuple[WorkloadId, WorkloadAnnotations]] = field(default_factory=dict)

    def identity(self, obj: Node) -> tuple[WorkloadId, WorkloadAnnotations]:
        """Who an object is and what its annotations say, read once per object (so problems
        with the annotations are reported once, and its targets share one ``Automation``)."""
        known = self._identities.get(id(obj))
        if known is None:
            metadata = nodes.get(obj, "metadata")
            annotations = read_annotations(
                nodes.get(metadata, "annotations"), self.file, nodes.get(metadata, "labels")
            )
            self.problems.extend(annotations.problems)
            known = self._identities[id(obj)] = (object_id(obj), annotations)
        return known

    def location(self, node: Node) -> Location:
        start = nodes.content_start(self.source, node)
        mark = node.start_mark
        line_start = self._break_before(start, int(mark.index) - int(mark.column))
        extra = self.source.count("\n", int(mark.index), start)
        return Location(self.file, int(mark.line) + 1 + extra, start - line_start, self.document)

    def _break_before(self, index: int, line_begins: int) -> int:
        """The last LF or CR before ``index``, searched from where libyaml says the line begins:
        a search from the top of the file cost the file's length per target (quadratic)."""
        source, low = self.source, max(line_begins - 1, 0)
        found = max(source.rfind("\n", low, index), source.rfind("\r", low, index))
        if found < 0 and low > 0:  # a line broken by NEL or LS, which libyaml counts, this not
            found = max(source.rfind("\n", 0, index), source.rfind("\r", 0, index))
        return found

    def line(self, node: Node) -> int:
        return self.location(node).line

    def problem(self, message: str, node: Node | None, image: str | None = None) -> None:
        line = self.line(node) if node is not None else None
        self.problems.append(Problem(message, self.file, line, image))

    def parse_image(self, node: Node, value: str) -> ImageRef | None:
        """The reference in ``value``, or None after reporting why it is not one."""
        try:
            return parse_reference(value)
        except ReferenceError_ as error:
            self.problem(f"{error}; fix the reference so imagebot can update it", node, value)
            return None

    def add(
        self,
        node: Node,
        path: nodes.YamlPath,
        kind: TargetKind,
        image: ImageRef,
        workload: WorkloadId,
        *,
        container: str | None,
        automation: Automation,
        policy: PolicySpec | None,
        part: str = "image",
    ) -> None:
        """Record one target; ``policy`` None when automation does not reach it."""
        if not isinstance(node, ScalarNode):  # pragma: no cover - finders pass scalars only
            raise TypeError("a target must be a scalar")
        intern = sys.intern  # the keys of a path and container names repeat in every file
        self.targets.append(
            Target(
                location=self.location(node),
                kind=kind,
                image=image,
                workload=workload,
                container=intern(container) if container is not None else None,
                policy=policy,
                automation=automation,
                yaml_path=tuple(intern(key) if isinstance(key, str) else key for key in path),
                field_part=part,
                current_value=str(node.value),
            )
        )

    def report_unknown_containers(
        self, annotations: WorkloadAnnotations, names: list[str], workload: WorkloadId
    ) -> None:
        """A tag policy for a container the workload does not have is a Problem."""
        for container, policy in annotations.policies.items():
            if container not in names:
                self.problems.append(
                    Problem(
                        f"{policy.source} names container {container!r}, which {workload} does not "
                        f"have (it has: {', '.join(names) or 'none'}); fix the container name",
                        self.file,
                        annotations.policy_lines.get(container),
                    )
                )
