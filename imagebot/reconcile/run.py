"""THE use case: one reconcile from registry answers to a pushed commit.

Opens (or reuses) the workspace, then goes one straight way: find targets, screen them (pure), ask
each distinct repository once (edge), select tags (pure), fetch the digests of the chosen pinned
tags only (edge), finalize changes (pure), rewrite in memory, write, commit once, push. A rejected
push is retried on fresh remote state: the files are read again and the answers already fetched
are applied to them, so concurrent writers never lose each other's work and a retry asks no
registry. Edges are injected; nothing is printed.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from imagebot.config import GitSettings, RegistrySettings, Settings
from imagebot.errors import RegistryError
from imagebot.gitrepo import (
    Workspace,
    check_git_templates,
    is_template,
    render_branch,
    render_message,
)
from imagebot.gitrepo.remotes import remote_urls
from imagebot.manifest import FileFacts, FileMap, Update, rewrite_files, scan_tree, unified_diff
from imagebot.manifest.files import TreeFiles
from imagebot.model import (
    Change,
    CommitSha,
    Digest,
    Problem,
    ProblemCode,
    RunResult,
    TagFacts,
)
from imagebot.reconcile.copies import report_copies
from imagebot.reconcile.gating import NO_RULES, Rules
from imagebot.reconcile.plan import (
    DigestKey,
    Plan,
    digests_wanted,
    finalize,
    registry_queries,
    screen,
    select,
)
from imagebot.reconcile.retry import Prepared, commit_as_configured
from imagebot.records import record
from imagebot.refs import ImageRef
from imagebot.registry import RepoQuery, RepoScan
from imagebot.settings.files import CommittedFiles, Configure


class CommitTree(TreeFiles, CommittedFiles, Protocol):
    """A commit's files, read without a work tree (``Workspace.snapshot``)."""


class WorkspaceLike(Protocol):
    """What reconcile needs from the Git edge."""

    root: Path
    branch: str
    remote_revision: str | None
    has_remote: bool

    @property
    def commits_without_work_tree(self) -> bool: ...
    def commit(self, paths: Sequence[str], message: str) -> CommitSha | None: ...
    def commit_texts(self, texts: Mapping[str, str], message: str) -> CommitSha | None: ...
    def push(self, *, to_branch: str | None = None) -> None: ...
    def refresh(self) -> None: ...
    def close(self) -> None: ...
    def use_author(self, name: str, email: str) -> None: ...
    def snapshot(self) -> CommitTree | None: ...
    def check_out(self) -> None: ...


class RegistryLike(Protocol):
    """What reconcile needs from the registry edge."""

    def scan(
        self,
        requests: Sequence[RepoQuery],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, RepoScan]: ...
    def digest(self, image: ImageRef, tag: str) -> Digest: ...
    def examine(self, image: ImageRef, tag: str) -> TagFacts: ...
    @property
    def stats(self) -> Mapping[str, int]: ...


def _open_workspace(settings: GitSettings) -> WorkspaceLike:
    workspace: WorkspaceLike = Workspace.open(settings, objects_only=True)
    return workspace


def _make_registry(settings: RegistrySettings) -> RegistryLike:
    from imagebot.registry.client import RegistryClient  # the HTTP stack, when first needed

    client: RegistryLike = RegistryClient(settings)
    return client


class _LeasedOnFirstUse:
    """The cycle's registry, made when first asked: the CLI loads its HTTP stack (~0.1 s) while
    the scan is already under way, and a tree with nothing to ask about never loads it."""

    def __init__(self, make: Callable[[], RegistryLike]) -> None:
        self._make = make
        self._registry: RegistryLike | None = None

    def _leased(self) -> RegistryLike:
        if self._registry is None:
            self._registry = self._make()
        return self._registry

    def scan(
        self,
        requests: Sequence[RepoQuery],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, RepoScan]:
        return self._leased().scan(requests, progress=progress)

    def digest(self, image: ImageRef, tag: str) -> Digest:
        return self._leased().digest(image, tag)

    def examine(self, image: ImageRef, tag: str) -> TagFacts:
        return self._leased().examine(image, tag)

    @property
    def stats(self) -> Mapping[str, int]:
        return {} if self._registry is None else self._registry.stats


@dataclass(slots=True)
class Edges:
    """The outside world, injectable for tests and for the operator."""

    open_workspace: Callable[[GitSettings], WorkspaceLike] = _open_workspace
    make_registry: Callable[[RegistrySettings], RegistryLike] = _make_registry
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    # The time a minimum age is measured against (seconds since the epoch).
    wall: Callable[[], float] = time.time
    jitter: Callable[[], float] = field(default=random.random)
    # Told (done, total) while creation times are fetched: the CLI draws a progress bar.
    progress: Callable[[int, int], None] | None = None
    # How the tree's files are read and scanned (None: one after the other). The CLI shares
    # them with a forked process (``forked.SharedMap``); the operator, whose threads a fork
    # would copy, does not.
    map_files: FileMap | None = None


def reconcile(
    settings: Settings,
    *,
    edges: Edges | None = None,
    configure: Configure | None = None,
    unchanged_since: str | None = None,
) -> RunResult:
    """Run one cycle. Per-item trouble comes back as problems; whole-run failures raise.

    ``unchanged_since`` is the ``observed`` fingerprint of an earlier successful cycle: when the
    automated files and the registry answers are the same now, nothing is rewritten and the
    result says ``unchanged`` (Flux skips a cycle on unchanged source revision and policy
    results the same way).

    ``configure`` turns the checked-out tree into the final settings (``imagebot.yaml`` in the
    repository can only be read once the workspace exists). Which repository and branch to open
    are settled before that, by ``settings.git``.
    """
    edges = edges or Edges()
    started = edges.clock()
    check_git_templates(settings.git)
    workspace = edges.open_workspace(settings.git)
    try:
        if configure is not None:
            committed = workspace.snapshot()
            settings = configure(workspace.root, committed)
            check_git_templates(settings.git)
            workspace.use_author(settings.git.author_name, settings.git.author_email)
        return _reconcile_in(workspace, settings, edges, started, unchanged_since)
    finally:
        workspace.close()


def _reconcile_in(
    workspace: WorkspaceLike,
    settings: Settings,
    edges: Edges,
    started: float,
    unchanged_since: str | None,
) -> RunResult:
    registry = _LeasedOnFirstUse(lambda: edges.make_registry(settings.registries))
    rules = Rules(
        required_platforms=settings.registries.required_platforms,
        min_age=settings.min_age,
        now=datetime.fromtimestamp(edges.wall(), UTC),
    )
    planner = _Planner(
        workspace.root,
        lambda: workspace.snapshot() or workspace.root,
        settings,
        registry,
        progress=edges.progress,
        rules=rules,
        map_files=edges.map_files,
    )
    first = planner.plan()
    observed = planner.fingerprint(first.texts)
    if unchanged_since is not None and observed == unchanged_since:
        return RunResult(
            problems=tuple(first.plan.problems),
            skipped=tuple(first.plan.skipped),
            branch=settings.git.push_branch or workspace.branch,
            remote_revision=workspace.remote_revision,
            chosen=dict(first.plan.chosen),
            requests=dict(registry.stats),
            observed=observed,
            unchanged=True,
            duration_seconds=edges.clock() - started,
        )
    committed = commit_as_configured(
        workspace,
        _prepare(first, settings, edges.map_files),
        lambda: _prepare(planner.plan(), settings, edges.map_files),
        settings,
        sleep=edges.sleep,
        jitter=edges.jitter,
    )
    outcome = committed.prepared.value
    plan = outcome.plan
    stale = tuple(sorted(n for n, s in planner.scans.items() if s.stale))
    failed = tuple(
        sorted(
            {n for n, s in planner.scans.items() if s.problem and not s.permanent}
            | planner.unavailable - set(stale)
        )
    )
    # Only a cycle that finished its work may be skipped next time: not one that met a passing
    # failure or a dry run, and not one whose commit is still to be pushed.
    must_push = settings.push and workspace.has_remote
    unpushed = bool(committed.commit) and must_push and not committed.pushed
    # A tag waiting for its minimum age changes nothing observed when it comes of age: a cycle
    # that left one waiting must not let the next be skipped.
    waiting = any(p.code is ProblemCode.TOO_NEW for p in plan.skipped)
    finished = not (stale or failed or settings.dry_run or unpushed or waiting)
    # After a commit on the checked-out branch the next cycle sees the rewritten files (a review
    # branch leaves the base as it was).
    lands_on_base = bool(committed.commit) and not settings.git.push_branch
    return RunResult(
        changes=tuple(outcome.changes),
        problems=tuple(plan.problems) + tuple(outcome.problems),
        skipped=tuple(plan.skipped),
        commit=committed.commit,
        pushed=committed.pushed,
        branch=outcome.branch or settings.git.push_branch or workspace.branch,
        remote_revision=workspace.remote_revision,
        push_attempts=committed.attempts,
        diff=outcome.diff,
        chosen=dict(plan.chosen),
        requests=dict(registry.stats),
        stale_registries=stale,
        failed_repositories=failed,
        observed=(planner.fingerprint(outcome.after) if lands_on_base else observed)
        if finished
        else None,
        duration_seconds=edges.clock() - started,
    )


@record
class _Planned:
    """A plan, the texts of the files it was made from and the scan's facts of them (so the
    rewrite composes each changed file's old text no second time)."""

    plan: Plan
    texts: Mapping[str, str]
    facts: Mapping[str, FileFacts] = field(default_factory=dict)


class _Planner:
    """Plans against the files as they are now, asking the registry as little as it can.

    Each plan goes the same straight way: read the tree, screen the targets (pure), scan the
    repositories not scanned yet this run (edge), select tags (pure), fetch the digests of the
    chosen pinned tags not known yet (edge), finalize (pure). After a rejected push the fresh
    files are planned again with the answers already in hand, so a retry costs no requests.
    """

    def __init__(
        self,
        root: Path,
        files: Callable[[], Path | TreeFiles],
        settings: Settings,
        registry: RegistryLike,
        *,
        progress: Callable[[int, int], None] | None = None,
        rules: Rules = NO_RULES,
        map_files: FileMap | None = None,
    ) -> None:
        self.root, self.files, self.settings, self.registry = root, files, settings, registry
        self.progress, self.rules, self.map_files = progress, rules, map_files
        self.scans: dict[str, RepoScan] = {}
        self.digests: dict[DigestKey, Digest | RegistryError] = {}
        # Candidates examined for the rules on chosen tags, once per run (a retry asks none).
        self.examined: dict[DigestKey, TagFacts | RegistryError] = {}
        # Repositories where a passing failure (a manifest's 5xx, a timeout) kept a target as
        # it was: the run must say "try again later" (exit 1), not "done".
        self.unavailable: set[str] = set()

    def plan(self) -> _Planned:
        """The plan for the files as they are now, and the texts it was made from."""
        tree = scan_tree(
            self.files(),
            self.settings.paths,
            only_automated=True,
            watch_automated=True,
            repository_urls=lambda: remote_urls(self.root),
            with_facts=True,
            map_files=self.map_files,
        )
        screened = screen(tree.targets)
        queries = [
            q for q in registry_queries(screened.automated) if q.image.name not in self.scans
        ]
        if queries:
            self.scans.update(self.registry.scan(queries, progress=self.progress))
        decisions = select(
            screened.automated,
            self.scans,
            allow_downgrade=self.settings.allow_downgrade,
            rules=self.rules,
            examine=self._examine,
        )
        for image, tag in digests_wanted(decisions):
            if (image.name, tag) not in self.digests:
                self.digests[image.name, tag] = self._digest(image, tag)
        plan = finalize(decisions, self.digests)
        names = {str(item.target.image): item.target.image.name for item in screened.automated}
        self.unavailable = {
            names[p.image] for p in plan.problems if p.code.transient and p.image in names
        }
        report_copies(plan, decisions, tree)
        plan.problems[:0] = [*tree.problems, *screened.problems]
        plan.skipped[:0] = [*tree.skipped, *screened.skipped]
        return _Planned(plan, tree.texts, tree.facts)

    def _examine(self, image: ImageRef, tag: str) -> TagFacts | RegistryError:
        key = (image.name, tag)
        if key not in self.examined:
            try:
                self.examined[key] = self.registry.examine(image, tag)
            except RegistryError as error:
                self.examined[key] = error
        return self.examined[key]

    def _digest(self, image: ImageRef, tag: str) -> Digest | RegistryError:
        try:
            return self.registry.digest(image, tag)
        except RegistryError as error:
            return error

    def fingerprint(self, texts: Mapping[str, str]) -> str:
        """What this cycle saw: the automated files' text and every registry answer (the tag
        lists, and the candidates examined for the rules on chosen tags)."""
        digest = hashlib.sha256()
        for path in sorted(texts):
            digest.update(f"{path}\0{texts[path]}\0".encode())
        for name in sorted(self.scans):
            scan = self.scans[name]
            digest.update(f"{name}\0{scan.stale}\0{scan.problem}\0".encode())
            for info in sorted(scan.tags, key=lambda t: t.tag):
                created = info.created.isoformat() if info.created else ""
                digest.update(f"{info.tag} {created} {info.digest or ''}\n".encode())
        # A candidate the rules refused may be completed in place (a platform added under the
        # same tag): what examining it found is part of what this cycle saw.
        for (name, tag), found in sorted(self.examined.items()):
            digest.update(f"examined {name} {tag} {found!r}\n".encode())
        return digest.hexdigest()


@dataclass(slots=True)
class _Outcome:
    """One attempt's rewrite of a plan: what a commit of it would carry."""

    plan: Plan
    branch: str | None = None
    after: Mapping[str, str] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    diff: str = ""


def _prepare(
    planned: _Planned, settings: Settings, map_files: FileMap | None = None
) -> Prepared[_Outcome]:
    """Rewrite the planned changes into the texts they were planned on, ready to commit."""
    outcome = _Outcome(plan=planned.plan)
    current = planned.texts
    texts, outcome.changes, outcome.problems = rewrite_changes(
        current, planned.plan.changes, planned.facts, map_files=map_files
    )
    outcome.after = {**current, **{path: new for path, (_, new) in texts.items()}}
    template = settings.git.push_branch
    if template and texts and is_template(template):
        outcome.branch = render_branch(template, outcome.changes)
    outcome.diff = "".join(unified_diff(path, old, new) for path, (old, new) in texts.items())
    return Prepared(
        outcome,
        texts,
        lambda: render_message(
            outcome.changes,
            template=settings.git.message_template,
            skip_ci=settings.git.skip_ci,
        ),
        branch=lambda: outcome.branch,
    )


def rewrite_changes(
    texts: Mapping[str, str],
    changes: Sequence[Change],
    facts: Mapping[str, FileFacts] | None = None,
    *,
    map_files: FileMap | None = None,
) -> tuple[dict[str, tuple[str, str]], list[Change], list[Problem]]:
    """Apply changes to the texts they were planned on; a file that fails is left out whole.
    ``facts``: the scan's of those texts, when it kept them (``scan_tree(with_facts=True)``)."""
    by_target = {change.target: change for change in changes}
    updates = [Update(c.target, c.new_tag, c.new_digest) for c in changes]
    result = rewrite_files(texts, updates, facts, map_files=map_files)
    applied = [by_target[update.target] for update in result.applied]
    rewritten = {path: (texts[path], new) for path, new in result.new_texts.items()}
    return rewritten, applied, list(result.problems)
