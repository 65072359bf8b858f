"""Which targets a release reaches: the named workloads' (or every one), less the excluded.

``release -w W`` and ``--exclude W`` (fluxctl's ``--workload`` and ``--exclude``) name workloads
as users type them; each is resolved to exactly one workload of the tree, so a typo is a usage
error rather than a release that silently reached everything, or nothing. Pure over a scan.
"""

from __future__ import annotations

from collections.abc import Sequence

from imagebot.manifest.workload_index import Workload, resolve
from imagebot.model import Target, WorkloadId
from imagebot.records import record


@record
class Scope:
    """The workloads a release names (none: all of them) and those it leaves out."""

    workloads: tuple[WorkloadId, ...] = ()
    excludes: tuple[WorkloadId, ...] = ()

    @property
    def needs_workloads(self) -> bool:
        """Whether resolving the scope needs the tree's workloads described."""
        return bool(self.workloads or self.excludes)


@record
class Scoped:
    """The targets in scope and those of the image left out of it (for the copies report)."""

    targets: tuple[Target, ...]
    left_out: tuple[Target, ...]


def within(targets: Sequence[Target], workloads: Sequence[Workload], scope: Scope) -> Scoped:
    """The targets of the named workloads (all when none is named), less the excluded ones'.

    Raises UsageError when a named or excluded workload is not in the tree, or is ambiguous.
    """
    named = [resolve(w, workloads) for w in scope.workloads]
    excluded = [resolve(w, workloads) for w in scope.excludes]
    kept = [
        t
        for t in targets
        if (not named or any(belongs(t, w) for w in named))
        and not any(belongs(t, w) for w in excluded)
    ]
    return Scoped(tuple(kept), tuple(t for t in targets if t not in kept))


def belongs(target: Target, workload: Workload) -> bool:
    """Whether ``target`` is one of ``workload``'s values (same file, document and identity)."""
    where = target.location
    return (where.file, where.document, target.workload) == (
        workload.file,
        workload.document,
        workload.id,
    )


def workload_of(target: Target, workloads: Sequence[Workload]) -> Workload | None:
    """The described workload ``target`` belongs to, if any (setter-marked values may have
    none)."""
    return next((w for w in workloads if belongs(target, w)), None)
