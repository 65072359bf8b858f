"""What the finders share while reading one document: its text, position and a target builder.

The finders (workloads, Helm values, Kustomize images, setter markers) each turn nodes into
``Target``s and ``Problem``s through ``DocumentContext``; none of them reads files or edits text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imagebot.errors import ReferenceError_
from imagebot.manifest import nodes
from imagebot.manifest.annotations import Automation, read_automation
from imagebot.manifest.compose import Node, ScalarNode
from imagebot.model import Location, Problem, Target, TargetKind, WorkloadRef
from imagebot.refs import ImageRef, parse_reference

# Values that are placeholders for a templating step, not references: not ours to judge.
_PLACEHOLDERS = ("{{", "${", "$(", "<%")


def is_placeholder(value: str) -> bool:
    return any(marker in value for marker in _PLACEHOLDERS)


def describe_workload(kind: str, namespace: str | None, name: str | None) -> str:
    return f"{kind}/{namespace or 'default'}/{name or '?'}"


@dataclass(slots=True)
class DocumentContext:
    """One composed document of one file; collects what the finders report."""

    file: str
    source: str
    document: int
    root: Node
    targets: list[Target] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _identities: dict[int, tuple[str, Automation]] = field(default_factory=dict)
    # ``Kind/namespace/name`` -> its parts, for the targets' ``workload_ref``.
    refs: dict[str, WorkloadRef] = field(default_factory=dict)

    def identity(self, obj: Node) -> tuple[str, Automation]:
        """``Kind/namespace/name`` of an object and the automation its annotations ask for;
        problems with the annotations are reported once per object."""
        known = self._identities.get(id(obj))
        if known is None:
            metadata = nodes.get(obj, "metadata")
            ref = WorkloadRef(
                nodes.get_text(obj, "kind") or "?",
                nodes.get_text(metadata, "name") or "?",
                nodes.get_text(metadata, "namespace"),
            )
            workload = describe_workload(ref.kind, ref.namespace, ref.name)
            self.refs.setdefault(workload, ref)
            automation = read_automation(nodes.get(metadata, "annotations"), self.file)
            self.problems.extend(automation.problems)
            known = self._identities[id(obj)] = (workload, automation)
        return known

    def location(self, node: Node) -> Location:
        start = nodes.content_start(self.source, node)
        line_start = max(self.source.rfind("\n", 0, start), self.source.rfind("\r", 0, start))
        mark = node.start_mark
        extra = self.source.count("\n", int(mark.index), start)
        return Location(self.file, int(mark.line) + 1 + extra, start - line_start, self.document)

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
        workload: str,
        *,
        container: str | None,
        automation: Automation,
        policy: tuple[str, str] | None,
        part: str = "image",
        filters: tuple[str | None, str | None] = (None, None),
        pin_digest: bool = False,
    ) -> None:
        """Record one target; ``policy`` is ``(policy string, source)`` or None."""
        if not isinstance(node, ScalarNode):  # pragma: no cover - finders pass scalars only
            raise TypeError("a target must be a scalar")
        self.targets.append(
            Target(
                location=self.location(node),
                kind=kind,
                image=image,
                workload=workload,
                container=container,
                policy=policy[0] if policy else None,
                policy_source=policy[1] if policy else "",
                filter_pattern=filters[0],
                filter_extract=filters[1],
                automated=policy is not None,
                locked=automation.locked,
                locked_message=automation.locked_message,
                locked_user=automation.locked_user,
                ignored=automation.ignored,
                pin_digest=pin_digest or automation.pin_digest,
                yaml_path=path,
                field_part=part,
                current_value=str(node.value),
                workload_ref=self.refs.get(workload),
            )
        )

    def report_unknown_containers(
        self, automation: Automation, names: list[str], workload: str
    ) -> None:
        """A tag policy for a container the workload does not have is a Problem."""
        for container, (_, source) in automation.policies.items():
            if container not in names:
                self.problems.append(
                    Problem(
                        f"{source} names container {container!r}, which {workload} does not "
                        f"have (it has: {', '.join(names) or 'none'}); fix the container name",
                        self.file,
                        automation.policy_lines.get(container),
                    )
                )
