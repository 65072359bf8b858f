"""What a command says about the copies of an image it saw and did not change.

A file must never be left holding two versions of one image without a word. The scan finds the
copies no target covers (``manifest.occurrences``); the commands know which targets they left
alone and why. Both become ``Problem``s here: a copy imagebot could not read is
``COPY_NOT_READ`` (a warning: ``set-image`` and ``release`` print it, ``run`` reports it as a
problem), one left alone on purpose ``COPY_LEFT_ALONE`` (an info line). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from imagebot.manifest import TreeScan
from imagebot.manifest.occurrences import Occurrence
from imagebot.model import Change, Problem, ProblemCode, Target
from imagebot.reconcile.plan import Choice, Kept, Plan, Selected

Pair = tuple[str, str]
"""A file and a canonical repository name in it."""


def occurrence_problem(occurrence: Occurrence) -> Problem:
    code = ProblemCode.COPY_NOT_READ if occurrence.reason.unread else ProblemCode.COPY_LEFT_ALONE
    where = occurrence.location
    return Problem(occurrence.message, where.file, where.line, occurrence.value, code)


def left_alone(target: Target, why: str) -> Problem:
    """An info line for a target of the image that was not changed, on purpose."""
    where = target.location
    return Problem(
        f"{target.current_value} in {target.workload} was left alone: {why}",
        where.file,
        where.line,
        str(target.image),
        ProblemCode.COPY_LEFT_ALONE,
    )


def release_report(
    occurrences: Iterable[Occurrence], not_named: Iterable[Target] = ()
) -> list[Problem]:
    """``set-image`` and ``release``: every copy no target covers, and the targets of the image
    that ``-w`` left out, in file order."""
    found = [occurrence_problem(o) for o in occurrences]
    found += [left_alone(t, "not among the workloads named") for t in not_named]
    return sorted(found, key=_order)


def report_copies(plan: Plan, decisions: Sequence[Selected], tree: TreeScan) -> None:
    """Add ``run``'s copy report to ``plan``: the tree must be scanned with
    ``only_automated`` and ``watch_automated``, ``decisions`` are the plan's own."""
    changed = {change.target for change in plan.changes}
    troubled = {(p.file, p.line) for p in plan.problems}
    kept = [  # the policy keeps what they hold: decided so, or chosen but not changed
        d.target
        for d in decisions
        if isinstance(d, (Kept, Choice))
        and d.target not in changed
        and (d.target.location.file, d.target.location.line) not in troubled
    ]
    others = [*tree.others, *(t for t in tree.targets if t.automation.ignored)]
    problems, skipped = run_report(plan.changes, kept, others, tree.occurrences)
    plan.problems.extend(problems)
    plan.skipped.extend(skipped)


def run_report(
    changes: Sequence[Change],
    kept: Iterable[Target],
    others: Iterable[Target],
    occurrences: Iterable[Occurrence],
) -> tuple[list[Problem], list[Problem]]:
    """``run``: (problems, skipped). A copy it could not read of an image automated in the same
    file is a problem on every cycle, changed or not, so the status keeps showing it. In the
    files this cycle changes, the copies of a changed image left alone on purpose are info lines:
    targets kept by their policy (``kept``), not automated or ignored (``others``), placeholders
    and the like. Locked targets are reported as ``locked`` already."""
    changed: set[Pair] = {(c.target.location.file, c.target.image.name) for c in changes}
    problems: list[Problem] = []
    skipped: list[Problem] = []
    for occurrence in occurrences:
        if occurrence.reason.unread:
            problems.append(occurrence_problem(occurrence))
        elif (occurrence.location.file, occurrence.name) in changed:
            skipped.append(occurrence_problem(occurrence))
    for target in _in(changed, kept):
        policy = target.policy.text if target.policy else "?"
        skipped.append(left_alone(target, f"its policy {policy} keeps {target.image.tag}"))
    for target in _in(changed, others):
        if not target.automation.locked:
            why = "ignored (annotation)" if target.automation.ignored else "not automated"
            skipped.append(left_alone(target, why))
    return sorted(problems, key=_order), sorted(skipped, key=_order)


def _in(pairs: Collection[Pair], targets: Iterable[Target]) -> list[Target]:
    return [t for t in targets if (t.location.file, t.image.name) in pairs]


def _order(problem: Problem) -> tuple[str, int]:
    return (problem.file or "", problem.line or 0)
