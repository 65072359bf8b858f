"""Read automation annotations from a workload's ``metadata.annotations`` node.

imagebot's own ``imagebot.io/`` keys and Flux v1's ``fluxcd.io/`` and ``flux.weave.works/`` keys
mean the same things; when several spell one setting, imagebot.io wins, then fluxcd.io. Policy
strings are carried as written: the policy engine validates them, not this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from imagebot.manifest import nodes
from imagebot.manifest.compose import Node, ScalarNode
from imagebot.model import Problem, ProblemCode

PREFIXES = ("imagebot.io/", "fluxcd.io/", "flux.weave.works/")
FILTER_PREFIX = "filter.fluxcd.io/"
BOOL_TAG = "tag:yaml.org,2002:bool"
_SWITCHES = ("automated", "locked", "ignore", "pin-digest")


@dataclass(frozen=True, slots=True)
class Automation:
    """What a workload's annotations ask for. ``policies`` maps container name to
    ``(policy string, source)``; ``policy_lines`` gives the annotation's line for problems."""

    automated: bool = False
    locked: bool = False
    locked_message: str | None = None
    locked_user: str | None = None
    ignored: bool = False
    pin_digest: bool = False
    policies: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    policy_lines: Mapping[str, int] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()


@dataclass(slots=True)
class _Found:
    rank: int
    key: str
    node: Node


def read_automation(annotations: Node | None, file: str) -> Automation:
    """Parse the annotations mapping (or None) of one workload."""
    found: dict[str, _Found] = {}
    for key_node, value in nodes.items(annotations) if annotations is not None else []:
        key = nodes.text(key_node)
        if key is None:
            continue
        setting, rank = _setting_of(key)
        if setting is not None and (setting not in found or rank < found[setting].rank):
            found[setting] = _Found(rank, key, value)
    problems: list[Problem] = []
    flags = {name: _switch(found.get(name), file, problems) for name in _SWITCHES}
    policies: dict[str, tuple[str, str]] = {}
    lines: dict[str, int] = {}
    for setting, entry in found.items():
        if not setting.startswith("tag."):
            continue
        container = setting.removeprefix("tag.")
        policy = nodes.text(entry.node)
        line = int(entry.node.start_mark.line) + 1
        if not policy or not isinstance(entry.node, ScalarNode):
            problems.append(Problem(f"annotation {entry.key} has no policy string", file, line))
            continue
        policies[container] = (policy.strip(), f"annotation {entry.key}")
        lines[container] = line
    return Automation(
        automated=flags["automated"],
        locked=flags["locked"],
        locked_message=_lock_message(found) if flags["locked"] else None,
        locked_user=nodes.text(found["locked_user"].node)
        if flags["locked"] and "locked_user" in found
        else None,
        ignored=flags["ignore"],
        pin_digest=flags["pin-digest"],
        policies=policies,
        policy_lines=lines,
        problems=tuple(problems),
    )


def _setting_of(key: str) -> tuple[str | None, int]:
    """``("tag.flask", rank)`` for ``flux.weave.works/tag.flask``; lower rank wins."""
    if key.startswith(FILTER_PREFIX):
        # Flux v1's HelmRelease form; ranked below every tag.* spelling of the same container.
        return "tag." + key.removeprefix(FILTER_PREFIX), len(PREFIXES)
    for rank, prefix in enumerate(PREFIXES):
        if key.startswith(prefix):
            setting = key.removeprefix(prefix)
            if setting.startswith("tag.") or setting in (
                *_SWITCHES,
                "locked_msg",
                "locked_user",
            ):
                return setting, rank
    return None, 0


def _switch(entry: _Found | None, file: str, problems: list[Problem]) -> bool:
    if entry is None:
        return False
    node = entry.node
    line = int(node.start_mark.line) + 1
    value = nodes.text(node)
    if isinstance(node, ScalarNode) and node.tag == BOOL_TAG and value is not None:
        honoured = value.lower() in ("true", "yes", "on", "y")
        if honoured:
            # Flux v1 read annotations as strings and silently ignored a YAML boolean here.
            problems.append(
                Problem(
                    f"warning: annotation {entry.key} is the YAML boolean {value}, which Flux v1 "
                    f"ignored; imagebot honours it: write it as the string 'true'",
                    file,
                    line,
                    code=ProblemCode.MANIFEST_WARNING,
                )
            )
        return honoured
    if value is not None and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    problems.append(
        Problem(f"annotation {entry.key} must be 'true' or 'false', not {value!r}", file, line)
    )
    return False


def _lock_message(found: Mapping[str, _Found]) -> str | None:
    message = nodes.text(found["locked_msg"].node) if "locked_msg" in found else None
    user = nodes.text(found["locked_user"].node) if "locked_user" in found else None
    if message and user:
        return f"{message} (locked by {user})"
    if user:
        return f"locked by {user}"
    return message or None
