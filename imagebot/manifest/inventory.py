"""What ``list-workloads`` and ``list-images`` show: the tree's workloads, each with its images.

fluxctl asked the cluster; imagebot reads Git, so a workload here is one the repository defines
(``imagebot.manifest.workload_index``) and its images are the values a scan found in it, as
``imagebot list`` reads them. Filters are fluxctl's: a namespace (``-n``), a container name
(``-c``), one workload (``-w``). Pure over a scan: reads no file.
"""

from __future__ import annotations

from collections.abc import Sequence

from imagebot.manifest.scope import belongs
from imagebot.manifest.tree import TreeScan
from imagebot.manifest.workload_index import Workload, resolve
from imagebot.model import Automation, Target, WorkloadId
from imagebot.records import record


@record
class Listed:
    """One workload and its image values (containers, Kustomize images, HelmRelease values),
    in the order its file holds them."""

    workload: Workload
    targets: tuple[Target, ...]


def in_namespace(workload: Workload, namespace: str) -> bool:
    """Whether ``workload`` is in ``namespace``: one that writes none is in ``default``, as
    output names it (``Deployment/default/web``); a kustomization named by its directory is in
    none."""
    identity = workload.id
    return not identity.directory and (identity.namespace or "default") == namespace


def inventory(
    scan: TreeScan,
    *,
    namespace: str | None = None,
    container: str | None = None,
    workload: WorkloadId | None = None,
) -> list[Listed]:
    """The workloads of ``scan`` (described with ``with_workloads``) that pass the filters,
    sorted by identity as fluxctl sorted them. Raises UsageError for a ``workload`` the tree
    does not have (or has several of)."""
    workloads: Sequence[Workload] = scan.workloads
    if workload is not None:
        workloads = [resolve(workload, workloads)]
    elif namespace is not None:
        workloads = [w for w in workloads if in_namespace(w, namespace)]
    listed = [Listed(w, tuple(t for t in scan.targets if belongs(t, w))) for w in workloads]
    if container is not None:
        listed = [
            entry
            for entry in listed
            if any(t.container == container for t in entry.targets)
            or container in (entry.workload.containers or ())
        ]
    return sorted(listed, key=lambda entry: (str(entry.workload.id), entry.workload.where))


def policy_names(automation: Automation) -> str:
    """fluxctl's POLICY column: ``automated``, ``ignore`` and ``locked``, sorted, comma-joined."""
    names = [
        name
        for name, on in (
            ("automated", automation.automated),
            ("ignore", automation.ignored),
            ("locked", automation.locked),
        )
        if on
    ]
    return ",".join(names)
