"""The write-commit-push loop shared by every use case that changes a Git repository.

Take an edit prepared from the files as they are now, write it, commit it, push it; when the push
is rejected because the branch moved on, fetch the new head and prepare again from the fresh files,
a bounded number of times with jittered backoff. It never force-pushes the checked-out branch and
knows nothing about what the edit is (image updates, annotations, a release).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from imagebot.config import Settings
from imagebot.errors import PushRejected
from imagebot.manifest import paths_in_tree, write_files
from imagebot.model import CommitSha
from imagebot.records import record

T = TypeVar("T")


class Committer(Protocol):
    """What the loop needs from a workspace."""

    @property
    def root(self) -> Path: ...
    @property
    def has_remote(self) -> bool: ...
    @property
    def commits_without_work_tree(self) -> bool: ...
    def commit(self, paths: Sequence[str], message: str) -> CommitSha | None: ...
    def commit_texts(self, texts: Mapping[str, str], message: str) -> CommitSha | None: ...
    def push(self, *, to_branch: str | None = None) -> None: ...
    def refresh(self) -> None: ...


@record
class Prepared(Generic[T]):
    """One attempt's edit: ``texts`` maps each changed file to ``(old, new)``; ``message`` is
    asked for only when there is something to commit (a template error must not fail a dry run)."""

    value: T
    texts: Mapping[str, tuple[str, str]]
    message: Callable[[], str]
    # The review branch for this edit when it is templated from the changes; asked for, like
    # the message, only when there is something to push. None: the configured push branch.
    branch: Callable[[], str | None] | None = None


@record
class Committed(Generic[T]):
    """The last attempt's edit and what became of it; ``attempts`` counts pushes tried."""

    prepared: Prepared[T]
    commit: CommitSha | None = None
    pushed: bool = False
    attempts: int = 0


@record
class Pacing:
    """How many pushes to try and how to wait between them (injected: tests do not sleep)."""

    attempts: int
    sleep: Callable[[float], None]
    jitter: Callable[[], float]

    def pause(self, attempt: int) -> None:
        self.sleep(min(8.0, 0.2 * 2**attempt) * (0.5 + self.jitter()))


def commit_with_retries(
    workspace: Committer,
    first: Prepared[T],
    again: Callable[[], Prepared[T]],
    *,
    write: bool,
    push: bool,
    push_branch: str | None,
    pacing: Pacing,
) -> Committed[T]:
    """Write, commit and (with ``push``) push ``first``; on a rejected push fetch the fresh head
    and write what ``again`` prepares from it. ``write=False`` (a dry run) only returns
    ``first``. Raises PushRejected when the last attempt is rejected too."""
    attempts = max(1, pacing.attempts)
    prepared = first
    for attempt in range(1, attempts + 1):
        if not write or not prepared.texts:
            return Committed(prepared, attempts=attempt - 1)
        commit = _commit(workspace, {path: new for path, (_, new) in prepared.texts.items()},
                         prepared.message())  # fmt: skip
        if not push or commit is None:
            return Committed(prepared, commit, attempts=attempt - 1)
        try:
            branch = prepared.branch() if prepared.branch is not None else None
            workspace.push(to_branch=branch or push_branch)
        except PushRejected:
            if attempt == attempts:
                raise
            pacing.pause(attempt)
            workspace.refresh()
            prepared = again()
            continue
        return Committed(prepared, commit, pushed=True, attempts=attempt)
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


def _commit(workspace: Committer, texts: Mapping[str, str], message: str) -> CommitSha | None:
    """Commit the new texts: straight into the object store where the workspace can, else by
    writing the work tree and committing those paths (a user's work tree, a signed commit)."""
    if workspace.commits_without_work_tree:
        return workspace.commit_texts(paths_in_tree(workspace.root, texts), message)
    write_files(workspace.root, texts)
    return workspace.commit(sorted(texts), message)


def commit_as_configured(
    workspace: Committer,
    first: Prepared[T],
    again: Callable[[], Prepared[T]],
    settings: Settings,
    *,
    sleep: Callable[[float], None],
    jitter: Callable[[], float],
) -> Committed[T]:
    """``commit_with_retries`` as ``settings`` ask: a dry run only prepares; without ``push`` or
    a remote it commits and stops; pushes go to ``git.push_branch`` when one is set."""
    return commit_with_retries(
        workspace,
        first,
        again,
        write=not settings.dry_run,
        push=settings.push and not settings.dry_run and workspace.has_remote,
        push_branch=settings.git.push_branch,
        pacing=Pacing(settings.git.max_push_attempts, sleep, jitter),
    )
