"""Keel's ``keel.sh/`` annotations and labels, read natively: the one policy Keel gives every
container of a workload, as a ``PolicySpec``, and what in them imagebot cannot do (for lint).

The facts come from Keel's source (``internal/policy``, ``provider/kubernetes``, ``types``):
the policy is read from the annotations, else from the labels, and ``matchTag`` from the same
place; ``glob:`` and ``regexp:`` order tags as strings, not by time; ``force`` with
``matchTag`` watches one tag's digest. docs/from-keel.md is the mapping table. Whether an
imagebot or Flux annotation wins is ``annotations.py``'s decision, not this module's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from imagebot.manifest import nodes
from imagebot.manifest.compose import Node, ScalarNode
from imagebot.model import PolicySpec, Problem
from imagebot.records import record

POLICY_KEYS = ("keel.sh/policy", "keel.observer/policy")  # the second is Keel's legacy name
MATCH_TAG_KEYS = ("keel.sh/matchTag", "keel.sh/match-tag")  # in the order Keel reads them
INIT_CONTAINERS = "keel.sh/initContainers"
MONITOR = "keel.sh/monitorContainers"
BUMPS = ("all", "major", "minor", "patch")  # imagebot's policy kinds of the same names
OFF = ("", "never")  # Keel's NilPolicy: no automation
# force: any newer version, prereleases included; Keel's "or any tag that is no version" has no
# order to follow (Keel takes whichever the registry lists first), so imagebot leaves it out.
FORCE = "semver:>=0.0.0-0"
# Keel's glob and regexp pick the greatest matching tag as a string (or the regexp's `compare`
# group), and glob only above the current tag: imagebot's alphabetical order and no-downgrade.
BY_STRING = "alphabetical:asc"
_REGEX_SPECIAL = frozenset("\\.+?()|[]{}^$")
# What Keel does that imagebot cannot, and what to do instead (lint reports these).
UNMATCHED: Mapping[str, str] = {
    "keel.sh/approvals": "imagebot has no approvals: the commit is the change; push to a branch "
    "(git.pushBranch) and review it as a pull request",
    "keel.sh/approvalDeadline": "imagebot has no approvals, so no deadline",
    "keel.sh/notify": "imagebot's notifications are set in --config or the ImageAutomation, "
    "not per workload",
    "keel.sh/releaseNotes": "imagebot does not carry release notes links",
    "keel.sh/imagePullSecret": "repository content never names secrets: give registry "
    "credentials in --config or the ImageAutomation",
    "keel.sh/pollSchedule": "imagebot polls every automated workload at one interval "
    "(`imagebot run --interval`, the ImageAutomation's interval), not per workload",
    "keel.sh/imageVolumes": "imagebot does not update image volume references",
}


@record
class KeelPolicy:
    """What ``keel.sh/policy`` asks of a workload: ``policy`` for each container it reaches
    (None: Keel's ``never``, an unknown value, or ``force`` with ``matchTag``, which imagebot
    cannot follow), written at ``key`` on ``line``."""

    policy: PolicySpec | None
    key: str
    line: int
    init_containers: bool = False
    monitor: re.Pattern[str] | None = None

    def reaches(self, field: str | None, name: str | None) -> bool:
        """Keel skips init containers unless asked, and containers whose name the
        ``monitorContainers`` regex does not find."""
        if field == "initContainers" and not self.init_containers:
            return False
        return self.monitor is None or (name is not None and bool(self.monitor.search(name)))


def read_keel(
    annotations: Node | None, labels: Node | None, file: str
) -> tuple[KeelPolicy | None, list[Problem]]:
    """Keel's policy for a workload (annotations first, then labels, as Keel reads them)."""
    problems: list[Problem] = []
    for where, mapping in (("annotation", annotations), ("label", labels)):
        found = _first(mapping, POLICY_KEYS)
        if found is None:
            continue
        key, node = found
        value = (nodes.text(node) or "") if isinstance(node, ScalarNode) else ""
        line = int(node.start_mark.line) + 1
        match_tag = _first(mapping, MATCH_TAG_KEYS)
        matching = match_tag is not None and nodes.text(match_tag[1]) == "true"
        source = f"{where} {key}: {value}"
        policy, error = keel_policy(value, source, match_tag=matching)
        if error:
            problems.append(Problem(f"{where} {key}: {error}", file, line))
        monitor = _monitor(labels, annotations, file, problems)
        init = _text(labels, INIT_CONTAINERS) or _text(annotations, INIT_CONTAINERS)
        return KeelPolicy(policy, key, line, init == "true", monitor), problems
    return None, problems


def keel_policy(
    value: str, source: str, *, match_tag: bool = False
) -> tuple[PolicySpec | None, str | None]:
    """The imagebot policy for Keel's policy ``value``, or None and why not (None, None: Keel
    itself does nothing)."""
    if value in OFF:
        return None, None
    if value in BUMPS:
        return PolicySpec(value, source), None
    if value == "force":
        return (None, None) if match_tag else (PolicySpec(FORCE, source), None)
    kind, _, pattern = value.partition(":")
    if kind == "glob" and ":" not in pattern:
        return PolicySpec(BY_STRING, source, filter_pattern=glob_regex(pattern)), None
    if kind == "regexp":
        named = "(?P<compare>" in pattern or "(?<compare>" in pattern
        return PolicySpec(BY_STRING, source, pattern, "$compare" if named else None), None
    return None, (
        f"{value!r} is no Keel policy (all, major, minor, patch, force, glob:, regexp:, never); "
        f"Keel ignores it, so does imagebot"
    )


def glob_regex(pattern: str) -> str:
    """Keel's glob (``ryanuber/go-glob``: ``*`` alone is special, the whole tag must match) as
    an anchored regular expression."""
    body = "".join(
        ".*" if char == "*" else ("\\" + char if char in _REGEX_SPECIAL else char)
        for char in pattern
    )
    return f"^{body}$"


def keel_findings(
    written: Mapping[str, tuple[str, int]], policy: str | None
) -> Iterator[tuple[int, str]]:
    """(line, message) for each Keel setting imagebot cannot follow; ``written`` maps a
    ``keel.sh/`` key to its value and line, ``policy`` is Keel's policy value (if any)."""
    for key, (value, line) in written.items():
        if key in UNMATCHED and not (key == "keel.sh/imageVolumes" and value != "true"):
            yield line, f"{key} is Keel's and not followed: {UNMATCHED[key]}"
        elif key == "keel.sh/matchPreRelease" and value == "false":
            yield (
                line,
                (
                    f"{key}: false is not followed: imagebot's major, minor and patch keep the "
                    f"current tag's prerelease track; use all, or a semver: range in "
                    f"imagebot.io/tag.<container>"
                ),
            )
        elif key == "keel.sh/trigger" and value not in ("poll", "default"):
            yield (
                line,
                (
                    f"{key}: {value} is not followed: imagebot polls every automated workload, and "
                    f"the operator's webhooks take registry notifications"
                ),
            )
        elif key in MATCH_TAG_KEYS and value == "true":
            if policy == "force":
                yield (
                    line,
                    (
                        f"{key} with force cannot be followed: Keel redeploys when the same tag is "
                        f"pushed again, which changes nothing in Git; imagebot does not automate "
                        f"this workload (write imagebot.io/automated, imagebot.io/tag.<container> "
                        f"as glob:<tag> and imagebot.io/pin-digest to follow it as tag@digest)"
                    ),
                )
            else:
                yield line, f"{key} has no effect: Keel reads it only with the force policy"


def _first(mapping: Node | None, keys: tuple[str, ...]) -> tuple[str, Node] | None:
    if mapping is None:
        return None
    for key in keys:
        node = nodes.get(mapping, key)
        if node is not None:
            return key, node
    return None


def _text(mapping: Node | None, key: str) -> str | None:
    return nodes.text(nodes.get(mapping, key)) if mapping is not None else None


def _monitor(
    labels: Node | None, annotations: Node | None, file: str, problems: list[Problem]
) -> re.Pattern[str] | None:
    """Keel reads labels first; an invalid regex makes Keel follow every container, imagebot
    none (an invalid pattern never matches everything here) and says so."""
    for mapping in (labels, annotations):
        found = _first(mapping, (MONITOR,))
        if found is None:
            continue
        text = nodes.text(found[1]) or ""
        try:
            return re.compile(text)
        except re.error as error:
            line = int(found[1].start_mark.line) + 1
            problems.append(Problem(f"{MONITOR}: invalid regular expression: {error}", file, line))
            return re.compile(r"(?!)")  # Keel follows no container then either
    return None
