"""Getting a checkout to work in: a shallow clone in the cache, or a work tree in place.

Both hand back a ``Checkout`` with the workspace lock held; ``Workspace.open`` takes the cache's
lock and starts a first clone before it calls ``open_cached``, and then fetches and resets a
reused clone. A cached clone that a killed run left broken is thrown away and cloned again. A
work tree in place is only ever switched to the requested branch.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from imagebot.config import GitSettings
from imagebot.errors import ConfigError
from imagebot.gitrepo.children import ensure_reaper
from imagebot.gitrepo.clone import PendingClone
from imagebot.gitrepo.failures import Redactor, classify
from imagebot.gitrepo.lock import FileLock
from imagebot.gitrepo.runner import GitRunner
from imagebot.records import record

if TYPE_CHECKING:
    from git import Repo

log = logging.getLogger(__name__)

__all__ = ["Checkout", "open_cached", "open_in_place"]

REMOTE = "origin"
# What an interrupted rebase, am, merge, cherry-pick, revert or bisect leaves in a clone's .git.
_HALF_DONE = (
    "rebase-merge",
    "rebase-apply",
    "sequencer",
    "MERGE_HEAD",
    "MERGE_MSG",
    "MERGE_MODE",
    "AUTO_MERGE",
    "CHERRY_PICK_HEAD",
    "REVERT_HEAD",
    "BISECT_LOG",
    "BISECT_START",
    "BISECT_TERMS",
    "BISECT_EXPECTED_REV",
    "BISECT_ANCESTORS_OK",
    "BISECT_NAMES",
)


@record
class Checkout:
    """An opened repository with the lock held; ``remote`` is None when there is none."""

    git: GitRunner
    branch: str
    remote: str | None
    remote_branch: str
    cached: bool
    lock: FileLock
    fresh: bool = False  # cloned just now, so there is nothing to fetch or reset yet

    @property
    def root(self) -> Path:
        return self.git.root


def open_cached(
    url: str,
    settings: GitSettings,
    *,
    directory: Path,
    lock: FileLock,
    clone: PendingClone | None,
    env: Mapping[str, str],
    secrets: Iterable[str | None],
) -> Checkout:
    """Complete ``clone``, or reuse the cached clone in ``directory`` (cloning again when it is
    broken). ``lock`` is held; the caller releases it, and stops the clone, when this fails."""
    ensure_reaper()  # every git child of this process dies with it, even on kill -9
    redact = Redactor(secrets)
    label = redact(url)
    repo = None if clone is not None else _reusable(directory)
    fresh = repo is None
    if repo is None:  # GitPython is not needed yet: the runner opens the clone on first use
        _finished(clone or PendingClone(url, directory, settings.branch, env), url, redact)
    git = GitRunner(directory, label=label, redact=redact, env=env, repo=repo)
    if not fresh:  # a fresh clone names ``url`` already
        git.run("set the remote", "remote", "set-url", REMOTE, url)
    branch = settings.branch or (fresh and _cloned_branch(directory)) or git.active_branch()
    return Checkout(git, branch, REMOTE, branch, cached=True, lock=lock, fresh=fresh)


def _cloned_branch(directory: Path) -> str | None:
    """The branch a clone of ours just checked out, read from its HEAD file (git wrote it a
    moment ago: a symbolic ref), so that opening it needs no GitPython yet."""
    try:
        head = (directory / ".git" / "HEAD").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    name = head.removeprefix("ref: refs/heads/")
    return name if name != head and name else None


def open_in_place(
    path: Path,
    settings: GitSettings,
    *,
    lock_timeout: float,
    env: Mapping[str, str],
    secrets: Iterable[str | None],
) -> Checkout:
    """Use the work tree around ``path`` as it is: no fetch, reset or clean of the user's files."""
    from git import Repo
    from git.exc import InvalidGitRepositoryError, NoSuchPathError

    try:
        repo = Repo(path, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError) as error:
        raise ConfigError(
            f"git.repo: {path} is not inside a Git repository (run git init there, or give a URL)"
        ) from error
    ensure_reaper()
    lock = FileLock(Path(repo.git_dir) / "imagebot.lock")
    lock.acquire(lock_timeout)
    root = Path(str(repo.working_tree_dir))
    git = GitRunner(root, label=str(root), redact=Redactor(secrets), env=env, repo=repo)
    try:
        wanted = settings.branch
        if wanted and (repo.head.is_detached or repo.active_branch.name != wanted):
            git.run(f"check out {wanted}", "checkout", wanted)
        if repo.head.is_detached:
            raise ConfigError(
                f"git.repo: {git.label} has a detached HEAD; name a branch to commit on"
            )
        branch = repo.active_branch
        tracking = branch.tracking_branch()
        remote: str | None = None
        remote_branch = branch.name
        if tracking is not None:
            remote, remote_branch = tracking.remote_name, tracking.remote_head
        elif REMOTE in [item.name for item in repo.remotes]:
            remote = REMOTE
        return Checkout(git, branch.name, remote, remote_branch, cached=False, lock=lock)
    except BaseException:
        lock.release()
        raise


def _reusable(directory: Path) -> Repo | None:
    """The cached clone, with lock files of a killed git removed; None when there is none."""
    from git import Repo
    from git.exc import InvalidGitRepositoryError, NoSuchPathError

    if not (directory / ".git").is_dir():
        shutil.rmtree(directory, ignore_errors=True)
        return None
    # We hold the workspace lock, so no live git process owns these: a killed run left them.
    # Safe only because this is imagebot's own clone, reset to the remote next; a user's work
    # tree is never touched (failures.classify reports its lock files instead).
    for stale in (directory / ".git").rglob("*.lock"):
        stale.unlink(missing_ok=True)
    for state in _HALF_DONE:
        path = directory / ".git" / state
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    shutil.rmtree(directory.parent / f"{directory.name}.partial", ignore_errors=True)
    try:
        repo = Repo(directory)
        repo.active_branch  # noqa: B018 - a detached or broken HEAD means: clone again
    except (InvalidGitRepositoryError, NoSuchPathError, TypeError, ValueError):
        log.warning("cached clone %s is unusable; cloning again", directory)
        shutil.rmtree(directory, ignore_errors=True)
        return None
    return repo


def _finished(clone: PendingClone, url: str, redact: Redactor) -> None:
    """Wait for the shallow clone into a temporary sibling, then rename it into place: a killed
    clone leaves no workspace."""
    try:
        status, printed = clone.wait()
    except BaseException:  # interrupted while waiting: stop git and remove what it wrote
        clone.cancel()
        raise
    if status != 0:
        from git.exc import GitCommandError

        clone.cancel()
        error = GitCommandError(clone.command, status, printed)
        raise classify(error, action=f"clone {redact(url)}", redact=redact) from error
    clone.partial.rename(clone.directory)
    log.info("cloned %s into %s", redact(url), clone.directory)
