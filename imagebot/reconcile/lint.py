"""``imagebot lint``: what in a tree's automation would not do what its author meant.

The scanner's own problems (YAML booleans, policies for containers that do not exist, references
that do not parse, repeated keys, markers naming missing policies) plus rules that need the policy
engine or a view of the whole tree: invalid policies (also ``imagebot.io/filter.`` and
``extract.<container>`` pairs), tag policies on workloads that are not automated, imagebot's own
settings spelled with a Flux v1 prefix, aliases on workloads without images entries, one setting
spelled twice, one workload defined twice, and Keel settings imagebot cannot follow. Pure
reading; nothing is changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from imagebot.errors import PolicyError
from imagebot.gitrepo.remotes import remote_urls
from imagebot.manifest import scan_tree
from imagebot.manifest.annotations import (
    ALIAS,
    DEFAULT_PREFIX,
    EXTRACT,
    FILTER,
    MIN_AGE,
    OWN_ONLY,
    PREFIXES,
    TAG,
    setting_of,
    spellings,
)
from imagebot.manifest.keel import POLICY_KEYS, keel_findings
from imagebot.manifest.workload_index import Workload
from imagebot.model import PolicySpec, Problem, ProblemCode, Target, WorkloadId
from imagebot.policy import parse_policy
from imagebot.records import record

# The kinds whose Kustomize images entries an alias annotation can name.
ENTRY_KINDS = ("Kustomization", "Component", "HelmRelease")


@record
class _Written:
    """A policy and the place that writes it, to check with the policy engine."""

    policy: PolicySpec
    workload: WorkloadId
    file: str
    line: int


def lint_tree(root: Path, paths: Sequence[str] = ()) -> list[Problem]:
    """Every finding, ordered by file and line."""
    scan = scan_tree(root, paths, with_workloads=True, repository_urls=lambda: remote_urls(root))
    workloads = scan.workloads
    findings = [
        *scan.problems,
        # Files that are not YAML at all; Helm and Go templates are skipped on purpose.
        *(p for p in scan.skipped if "template" not in p.message),
        *(p for w in workloads for p in lint_workload(w)),
        *duplicate_workloads(workloads),
        *invalid_policies(
            [*_annotated(workloads), *_filtered(workloads), *_elsewhere(scan.targets)]
        ),
    ]
    unique = {(p.file, p.line, p.message): p for p in findings}
    return sorted(unique.values(), key=lambda p: (p.file or "", p.line or 0, p.message))


def lint_workload(workload: Workload) -> Iterator[Problem]:
    """Findings in one workload's annotations, but for the policies (``invalid_policies``)."""
    by_setting: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for annotation in workload.annotations:
        known = setting_of(annotation.key)
        if known is not None:
            by_setting[known[0]].append((annotation.key, annotation.line))
    for setting, places in by_setting.items():
        if len(places) > 1:
            keys = ", ".join(key for key, _ in places)
            yield Problem(
                f"{setting} of {workload.id} is set {len(places)} times ({keys}); "
                f"imagebot reads {_preferred(setting, places)}: keep one",
                workload.file,
                places[1][1],
            )
    if workload.id.kind not in ENTRY_KINDS:
        for setting, places in by_setting.items():
            if setting.startswith(ALIAS):
                yield Problem(
                    f"{places[0][0]} has no effect: aliases name Kustomize images entries, and "
                    f"{workload.id} has none (only a Kustomization or a HelmRelease's "
                    f"postRenderers do); remove it",
                    workload.file,
                    places[0][1],
                )
    for annotation in workload.annotations:
        for prefix in PREFIXES[1:]:
            own = annotation.key.removeprefix(prefix)
            if own != annotation.key and own.startswith(OWN_ONLY):
                yield Problem(
                    f"{annotation.key} is not read: Flux v1 had no such setting; write "
                    f"{DEFAULT_PREFIX}{own}",
                    workload.file,
                    annotation.line,
                )
    yield from _keel(workload)
    policies = [
        places[0]
        for s, places in by_setting.items()
        if s.startswith((TAG, FILTER, EXTRACT, MIN_AGE))
    ]
    if policies and not workload.automated:
        key, line = policies[0]
        yield Problem(
            f"{key} has no effect: {workload.id} is not automated "
            f"(run `imagebot automate {workload.id}` or remove the policy)",
            workload.file,
            line,
        )


def _keel(workload: Workload) -> Iterator[Problem]:
    """Keel's annotations and labels that imagebot cannot follow (an annotation hides the label
    of the same key, as Keel reads them). An ``automated`` annotation beside a Keel policy is no
    finding: it is how ``imagebot deautomate`` pauses a Keel workload."""
    written = {
        a.key: (a.value, a.line)
        for a in (*workload.labels, *workload.annotations)
        if a.key.startswith("keel.sh/") or a.key in POLICY_KEYS
    }
    policy = next((written[k] for k in POLICY_KEYS if k in written), None)
    for line, message in keel_findings(written, policy[0] if policy else None):
        yield Problem(f"{workload.id}: {message}", workload.file, line)


def _preferred(setting: str, places: Iterable[tuple[str, int]]) -> str:
    present = {key for key, _ in places}
    return next(key for key in spellings(setting) if key in present)


def _annotated(workloads: Sequence[Workload]) -> Iterator[_Written]:
    """Every tag policy annotation, also the spellings the scanner does not read and those of
    workloads that are not automated: each is a mistake waiting to happen."""
    for workload in workloads:
        for annotation in workload.annotations:
            known = setting_of(annotation.key)
            if known is not None and known[0].startswith(TAG):
                policy = PolicySpec(annotation.value, f"annotation {annotation.key}")
                yield _Written(policy, workload.id, workload.file, annotation.line)


def _filtered(workloads: Sequence[Workload]) -> Iterator[_Written]:
    """Each container's ``imagebot.io/filter.`` and ``extract.`` pair, at the line of the one
    that is wrong: the filter's for a bad pattern, the extract's when it has no filter."""
    for workload in workloads:
        pairs: dict[str, dict[str, tuple[str, int, str]]] = defaultdict(dict)
        for annotation in workload.annotations:
            known = setting_of(annotation.key)
            for prefix in (FILTER, EXTRACT):
                if known is not None and known[0].startswith(prefix):
                    container = known[0].removeprefix(prefix)
                    pairs[container][prefix] = (annotation.value, annotation.line, annotation.key)
        for pair in pairs.values():
            pattern, extract = pair.get(FILTER), pair.get(EXTRACT)
            first = pattern or extract
            assert first is not None  # noqa: S101 - each pair holds one of them
            spec = PolicySpec(
                "glob:*",
                f"annotation {first[2]}",
                filter_pattern=pattern[0] if pattern else None,
                extract=extract[0] if extract else None,
            )
            line = extract[1] if pattern is None and extract else first[1]
            yield _Written(spec, workload.id, workload.file, line)


def _elsewhere(targets: Sequence[Target]) -> Iterator[_Written]:
    """Policies that came from elsewhere than annotations (Flux ImagePolicy objects, defaults),
    each at the first value it governs."""
    seen: set[PolicySpec] = set()
    for target in targets:
        policy = target.policy
        if policy is not None and not policy.source.startswith("annotation") and policy not in seen:
            seen.add(policy)
            where = target.location
            yield _Written(policy, target.workload, where.file, where.line)


def invalid_policies(written: Iterable[_Written]) -> Iterator[Problem]:
    """Each place that writes an invalid policy; each distinct policy is compiled once."""
    errors: dict[PolicySpec, PolicyError | None] = {}
    for item in written:
        if item.policy not in errors:
            try:
                parse_policy(item.policy)
                errors[item.policy] = None
            except PolicyError as error:
                errors[item.policy] = error
        found = errors[item.policy]
        if found is not None:
            yield Problem(
                f"invalid policy {item.policy.text!r} ({item.policy.source}) of {item.workload}: "
                f"{found}",
                item.file,
                item.line,
                code=ProblemCode.INVALID_POLICY,
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
