"""``release --update-all-images``: every image in scope to the newest tag its policy allows.

fluxctl's ``release --update-all-images`` (Flux v1's ``ImageSpecLatest``) reached every container
of the workloads in scope, automated or not: each to the newest tag that passes the container's
tag policy (``tag.<container>``), or to the newest by creation time when it has none (``glob:*``).
Locked and ignored workloads are left alone unless named with ``-w`` and ``--force``. This does
the same in Git: the decisions are ``imagebot run``'s (``plan``), only the targets differ. The
registry answers are kept across a rejected push, so a retry asks no registry again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from imagebot.config import Settings
from imagebot.errors import RegistryError
from imagebot.gitrepo import render_message
from imagebot.manifest import scan_tree
from imagebot.manifest.scope import Scope, within, workload_of
from imagebot.manifest.workload_index import Workload
from imagebot.model import Change, Digest, PolicySpec, Target
from imagebot.reconcile.edit import Edit
from imagebot.reconcile.plan import (
    DigestKey,
    digests_wanted,
    finalize,
    registry_queries,
    screen,
    select,
)
from imagebot.reconcile.run import RegistryLike, rewrite_changes
from imagebot.reconcile.workflow import Request
from imagebot.records import record
from imagebot.registry import RepoScan

NEWEST = PolicySpec("glob:*", "no tag policy: the newest tag (release --update-all-images)")


@record
class Latest:
    """What ``--update-all-images`` was asked: the scope, and whether ``--force`` reaches locked
    and ignored workloads (only those named with ``-w``, as in fluxctl)."""

    scope: Scope
    force: bool = False


def followed(target: Target, workload: Workload | None, force: bool) -> Target:
    """``target`` as automation would see it if its workload were automated: its own policy,
    else the one its workload's annotations write for its container, else the newest tag."""
    policy = target.policy
    if policy is None and workload is not None and target.container is not None:
        policy = workload.policies.get(target.container)
    automation = replace(target.automation, automated=True)
    if force:
        automation = replace(automation, locked=False, ignored=False)
    return replace(target, policy=policy or NEWEST, automation=automation)


class LatestRelease:
    """The ``Compute`` of ``edit_repository`` for ``--update-all-images``.

    Called once per attempt on the files as they are then; the registry is asked only for
    repositories not scanned yet, so a retry after a rejected push costs no request.
    """

    def __init__(self, registry: RegistryLike, wanted: Latest, request: Request) -> None:
        self.registry, self.wanted, self.request = registry, wanted, request
        self.scans: dict[str, RepoScan] = {}
        self.digests: dict[DigestKey, Digest | RegistryError] = {}

    def __call__(self, root: Path, settings: Settings) -> Edit:
        scope = self.wanted.scope
        tree = scan_tree(root, settings.paths, with_workloads=True, with_facts=True)
        scoped = within(tree.targets, tree.workloads, scope)
        force = self.wanted.force and bool(scope.workloads)
        targets = [followed(t, workload_of(t, tree.workloads), force) for t in scoped.targets]
        screened = screen(targets)
        queries = [
            q for q in registry_queries(screened.automated) if q.image.name not in self.scans
        ]
        if queries:
            self.scans.update(self.registry.scan(queries))
        decisions = select(screened.automated, self.scans, allow_downgrade=settings.allow_downgrade)
        for image, tag in digests_wanted(decisions):
            if (image.name, tag) not in self.digests:
                try:
                    self.digests[image.name, tag] = self.registry.digest(image, tag)
                except RegistryError as error:
                    self.digests[image.name, tag] = error
        plan = finalize(decisions, self.digests)
        texts, changes, problems = rewrite_changes(tree.texts, plan.changes, tree.facts)
        notes: tuple[str, ...] = ()
        if screened.automated and not texts:
            notes = ("every image in scope is at the newest tag its policy allows",)
        elif not screened.automated:
            notes = ("no image to update in scope",)
        return Edit(
            texts=texts,
            message=self._message(changes, settings) if changes else "",
            problems=(*screened.problems, *plan.problems, *problems, *screened.skipped),
            notes=notes,
            matched=bool(screened.automated),
        )

    def _message(self, changes: Sequence[Change], settings: Settings) -> str:
        text = render_message(
            changes,
            template=settings.git.message_template,
            skip_ci=settings.git.skip_ci,
        )
        subject, _, body = text.partition("\n")
        return self.request.message(subject, body.strip("\n").splitlines())
