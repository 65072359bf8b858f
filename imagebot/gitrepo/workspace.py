"""A Git workspace for one run: open (clone, or reuse and reset), commit, push, refresh.

A URL is cloned shallow into a cache directory that later runs reuse; every open and refresh
fetches and hard-resets it, so whatever a crashed run left (files, commits, lock files) is gone.
A local work tree is used in place and never reset or cleaned. Which files change and what the
message says is decided by the caller; errors are classified in ``failures.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from git.exc import GitCommandError
from git.remote import PushInfo

from imagebot.config import GitSettings
from imagebot.errors import ConfigError, GitError, PushRejected
from imagebot.gitrepo.credentials import GitEnvironment
from imagebot.gitrepo.early import DEFAULT_LOCK_TIMEOUT, NETWORK_TIMEOUT, Opening, begin_open
from imagebot.gitrepo.failures import Redactor, classify, lost_race
from imagebot.gitrepo.opening import Checkout, open_cached, open_in_place
from imagebot.model import CommitSha

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_LOCK_TIMEOUT", "Workspace"]


class Workspace:
    """A checked-out branch that imagebot may commit to and push from. Use ``open``.

    ``root`` is the work tree, ``branch`` the checked-out branch, ``has_remote`` whether ``push``
    can work, ``remote_revision`` the remote branch's sha at the last fetch or push.
    """

    def __init__(
        self,
        checkout: Checkout,
        *,
        env: GitEnvironment,
        redact: Redactor,
        author: tuple[str, str],
    ) -> None:
        self._repo = checkout.repo
        self.root = Path(str(checkout.repo.working_tree_dir))
        self.branch = checkout.branch
        self._remote = checkout.remote
        self.has_remote = checkout.remote is not None
        self._remote_branch = checkout.remote_branch
        self._cached = checkout.cached
        self._lock = checkout.lock
        self._label = checkout.label
        self._env = env
        self._redact = redact
        self._author = author
        self._own_commits: set[str] = set()
        self.remote_revision: str | None = self._remote_head()

    @classmethod
    def open(
        cls,
        settings: GitSettings,
        *,
        cache_root: Path | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> Workspace:
        """Clone or reuse ``settings.repo`` and check out ``settings.branch`` (None: the remote's
        default branch). Waits up to ``lock_timeout`` s for another process using the same
        workspace."""
        opening = begin_open(settings, cache_root=cache_root, lock_timeout=lock_timeout)
        return cls.open_begun(opening)

    @classmethod
    def open_begun(cls, opening: Opening) -> Workspace:
        """Complete what ``early.begin_open`` started: the same as ``open`` from there on."""
        settings, env, remote = opening.settings, opening.env, opening.remote
        redact = Redactor([env.token, remote.password if remote else None])
        author = (settings.author_name, settings.author_email)
        lock, clone = opening.take()
        try:
            if remote is None:
                assert opening.where.path is not None  # noqa: S101 - locate() sets one of the two
                checkout = open_in_place(
                    opening.where.path,
                    settings,
                    lock_timeout=opening.lock_timeout,
                    env=env.variables,
                    redact=redact,
                )
                return cls(checkout, env=env, redact=redact, author=author)
            assert lock is not None and opening.directory is not None  # noqa: S101 - set for URLs
            checkout = open_cached(
                remote.url,
                settings,
                directory=opening.directory,
                lock=lock,
                clone=clone,
                env=env.variables,
                redact=redact,
            )
        except BaseException:
            env.close()
            raise
        workspace = cls(checkout, env=env, redact=redact, author=author)
        if checkout.fresh:
            return workspace
        try:
            workspace.refresh()
        except BaseException:
            workspace.close()
            raise
        return workspace

    def use_author(self, name: str, email: str) -> None:
        """Commit as this author from now on (the repository's own imagebot.yaml may name one,
        and it can only be read after the workspace is open)."""
        self._author = (name, email)

    def head(self) -> CommitSha:
        return CommitSha(self._run("read HEAD", "rev-parse", "--verify", "HEAD"))

    def commit(self, paths: Sequence[str], message: str) -> CommitSha | None:
        """Commit exactly ``paths`` (relative to ``root``); None when none of them changed.

        Other staged or modified files in a work tree used in place stay as they are.
        """
        if not paths:
            return None
        self._run("stage changes", "add", "--all", "--", *paths)
        signing = [word for option in self._env.signing_options for word in ("-c", option)]
        args = ["commit", "--no-verify", "--cleanup=whitespace", "-m", message, "--", *paths]
        try:
            self._repo.git.execute(
                ["git", *signing, *args],
                env=self._author_environment(),
                kill_after_timeout=NETWORK_TIMEOUT,
            )
        except GitCommandError as error:
            # git refuses a commit without changes: asked only then, it costs no git run.
            if self._nothing_staged(paths):
                return None
            raise classify(error, action=f"commit in {self._label}", redact=self._redact) from (
                error
            )
        sha = self.head()
        self._own_commits.add(sha)
        log.info("committed %s on %s in %s", sha[:12], self.branch, self._label)
        return sha

    def push(self, *, to_branch: str | None = None) -> None:
        """Push HEAD to the branch it came from, or replace ``to_branch`` with it (review mode).

        Raises ``PushRejected`` when the remote branch moved on (call ``refresh`` and redo the
        commit), ``GitAuthError`` for refused credentials, ``GitError`` otherwise. The base
        branch is never force-pushed; ``to_branch`` is, guarded by a lease on its value now.
        """
        if self._remote is None:
            raise ConfigError(f"{self._label} has no remote to push to; commit only, or add one")
        target = to_branch or self._remote_branch
        lease = None
        if target != self._remote_branch:
            lease = f"refs/heads/{target}:{self._remote_value(target)}"
        refspec = f"refs/heads/{self.branch}:refs/heads/{target}"
        action = f"push to {target} of {self._label}"
        try:
            results = self._repo.remote(self._remote).push(
                refspec, kill_after_timeout=NETWORK_TIMEOUT, no_verify=True, force_with_lease=lease
            )
        except GitCommandError as error:
            raise classify(error, action=action, redact=self._redact) from error
        _check_push(results, f"refs/heads/{target}", action, self._redact)
        head = self.head()
        if target == self._remote_branch:
            self.remote_revision = head
        log.info("pushed %s to %s of %s", head[:12], target, self._label)

    def refresh(self) -> None:
        """Fetch and move to the remote branch's new head, dropping this run's commits."""
        if self._remote is None:
            return
        self._fetch(shallow=self._cached)
        if self._cached:
            self._reset_hard()
            return
        # In place: drop only commits made by this workspace, and keep others' uncommitted work.
        ahead = self._run("list local commits", "rev-list", f"{self._tracking_ref}..HEAD")
        foreign = set(ahead.split()) - self._own_commits
        if foreign:
            raise GitError(
                f"{self.root}: branch {self.branch} has {len(foreign)} unpushed commit(s) not "
                "made by imagebot; push or drop them, then run again"
            )
        self._run("reset to the remote branch", "reset", "--keep", self._tracking_ref)

    def close(self) -> None:
        self._repo.close()
        self._lock.release()
        self._env.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def _tracking_ref(self) -> str:
        return f"refs/remotes/{self._remote}/{self._remote_branch}"

    def _run(self, action: str, *args: str, env: Mapping[str, str] | None = None) -> str:
        try:
            out: str = self._repo.git.execute(
                ["git", *args], env=env, kill_after_timeout=NETWORK_TIMEOUT
            )
        except GitCommandError as error:
            raise classify(error, action=f"{action} in {self._label}", redact=self._redact) from (
                error
            )
        return out.strip()

    def _nothing_staged(self, paths: Sequence[str]) -> bool:
        status, _, stderr = self._repo.git.execute(
            ["git", "diff", "--cached", "--quiet", "--", *paths],
            with_extended_output=True,
            with_exceptions=False,
        )
        if status not in (0, 1):
            cause = GitCommandError(["git", "diff"], status, stderr)
            raise classify(cause, action="compare staged files", redact=self._redact) from cause
        return status == 0

    def _fetch(self, *, shallow: bool) -> None:
        depth = ["--depth", "1"] if shallow else []
        spec = f"+refs/heads/{self._remote_branch}:{self._tracking_ref}"
        self._run("fetch", "fetch", "--no-tags", *depth, str(self._remote), spec)
        self.remote_revision = self._remote_head()
        log.debug("fetched %s: %s", self._label, self.remote_revision)

    def _reset_hard(self) -> None:
        self._run("check out", "checkout", "--force", "-B", self.branch, self._tracking_ref)
        self._run("clean", "clean", "-ffdxq")
        self._own_commits.clear()

    def _remote_head(self) -> str | None:
        if self._remote is None:
            return None
        status, out, _ = self._repo.git.execute(
            ["git", "rev-parse", "--verify", "--quiet", self._tracking_ref],
            with_extended_output=True,
            with_exceptions=False,
        )
        return str(out).strip() if status == 0 else None

    def _remote_value(self, branch: str) -> str:
        """The sha of ``branch`` on the remote now, or "" when it does not exist (the lease)."""
        listing = self._run(
            "look up " + branch, "ls-remote", str(self._remote), f"refs/heads/{branch}"
        )
        for line in listing.splitlines():
            sha, _, ref = line.partition("\t")
            if ref == f"refs/heads/{branch}":
                return sha
        return ""

    def _author_environment(self) -> dict[str, str]:
        name, email = self._author
        return {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }


def _check_push(results: Sequence[PushInfo], ref: str, action: str, redact: Redactor) -> None:
    """Raise for a push that did not update ``ref``: GitPython reports rejections as flags."""
    info = next((item for item in results if item.remote_ref_string == ref), None)
    if info is None:
        cause = getattr(results, "error", None)
        if isinstance(cause, GitCommandError):
            raise classify(cause, action=action, redact=redact) from cause
        raise GitError(f"{action} failed: git reported nothing for {ref}")
    summary = redact(info.summary.strip())
    if info.flags & PushInfo.REJECTED or (
        info.flags & PushInfo.REMOTE_REJECTED and lost_race(info.summary)
    ):
        raise PushRejected(f"{action} was rejected, the branch moved on: {summary}")
    if info.flags & (PushInfo.REMOTE_REJECTED | PushInfo.REMOTE_FAILURE | PushInfo.ERROR):
        raise GitError(f"{action} failed on the remote side: {summary}")
