"""``imagebot lint``: what in a tree's automation would not do what its author meant.

The scanner's own problems (YAML booleans, policies for containers that do not exist, references
that do not parse, repeated keys, markers naming missing policies) plus rules that need the policy
engine or a view of the whole tree: invalid policies, tag policies on workloads that are not
automated, one setting spelled twice, one workload defined twice. Pure reading; nothing is changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from imagebot.errors import PolicyError
from imagebot.manifest import scan_tree
from imagebot.manifest.annotate import spellings
from imagebot.manifest.annotations import FILTER_PREFIX, PREFIXES
from imagebot.manifest.workload_index import Workload, WorkloadId
from imagebot.model import Problem, Target
from imagebot.policy import parse_policy

_SWITCHES = ("automated", "locked", "locked_msg", "locked_user", "ignore", "pin-digest")


def lint_tree(root: Path, paths: Sequence[str] = ()) -> list[Problem]:
    """Every finding, ordered by file and line."""
    scan = scan_tree(root, paths, with_workloads=True)
    workloads = scan.workloads
    findings = [
        *scan.problems,
        # Files that are not YAML at all; Helm and Go templates are skipped on purpose.
        *(p for p in scan.skipped if "template" not in p.message),
        *(p for w in workloads for p in lint_workload(w)),
        *duplicate_workloads(workloads),
        *target_policies(scan.targets),
    ]
    unique = {(p.file, p.line, p.message): p for p in findings}
    return sorted(unique.values(), key=lambda p: (p.file or "", p.line or 0, p.message))


def lint_workload(workload: Workload) -> Iterator[Problem]:
    """Findings in one workload's annotations."""
    by_setting: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for annotation in workload.annotations:
        setting = setting_of(annotation.key)
        if setting is None:
            continue
        by_setting[setting].append((annotation.key, annotation.line))
        if setting.startswith("tag."):
            yield from _check_policy(workload, annotation.key, annotation.value, annotation.line)
    for setting, places in by_setting.items():
        if len(places) > 1:
            keys = ", ".join(key for key, _ in places)
            yield Problem(
                f"{setting} of {workload.id.short} is set {len(places)} times ({keys}); "
                f"imagebot reads {_preferred(setting, places)}: keep one",
                workload.file,
                places[1][1],
            )
    policies = [places[0] for s, places in by_setting.items() if s.startswith("tag.")]
    if policies and not workload.automated:
        key, line = policies[0]
        yield Problem(
            f"{key} has no effect: {workload.id.short} is not automated "
            f"(run `imagebot automate {workload.id}` or remove the policy)",
            workload.file,
            line,
        )


def setting_of(key: str) -> str | None:
    """``tag.flask`` for ``fluxcd.io/tag.flask`` or ``filter.fluxcd.io/flask``; None for keys
    that are not automation settings."""
    if key.startswith(FILTER_PREFIX):
        return "tag." + key.removeprefix(FILTER_PREFIX)
    for prefix in PREFIXES:
        if key.startswith(prefix):
            setting = key.removeprefix(prefix)
            if setting.startswith("tag.") or setting in _SWITCHES:
                return setting
    return None


def _preferred(setting: str, places: Iterable[tuple[str, int]]) -> str:
    present = {key for key, _ in places}
    return next(key for key in spellings(setting) if key in present)


def _check_policy(workload: Workload, key: str, text: str, line: int) -> Iterator[Problem]:
    try:
        parse_policy(text)
    except PolicyError as error:
        yield Problem(
            f"invalid policy {text!r} in {key} of {workload.id.short}: {error}", workload.file, line
        )


def duplicate_workloads(workloads: Sequence[Workload]) -> Iterator[Problem]:
    """One workload written in several places: the applier keeps one, imagebot edits both."""
    places: dict[WorkloadId, list[Workload]] = defaultdict(list)
    for workload in workloads:
        places[workload.id].append(workload)
    for identity, found in places.items():
        for other in found[1:]:
            yield Problem(
                f"{identity} is also defined at {found[0].where}; keep one definition",
                other.file,
                other.line,
            )


def target_policies(targets: Sequence[Target]) -> Iterator[Problem]:
    """Policies that came from elsewhere than annotations (Flux ImagePolicy objects, defaults)."""
    seen: set[tuple[str, str | None, str | None, str]] = set()
    for target in targets:
        if target.policy is None or target.policy_source.startswith("annotation"):
            continue
        key = (target.policy, target.filter_pattern, target.filter_extract, target.policy_source)
        if key in seen:
            continue
        seen.add(key)
        try:
            parse_policy(
                target.policy, filter_pattern=target.filter_pattern, extract=target.filter_extract
            )
        except PolicyError as error:
            where = target.location
            yield Problem(
                f"invalid policy {target.policy!r} ({target.policy_source}): {error}",
                where.file,
                where.line,
            )
