"""A Git workspace for one run: open (clone, or reuse and reset), commit, push, refresh.

A URL is cloned shallow into a cache directory that later runs reuse; every open and refresh
fetches and hard-resets it, so whatever a crashed run left (files, commits, lock files) is gone.
The clone's files are written out only for a caller that reads the work tree: ``reconcile``
reads the commit's objects (``snapshot``) and commits with ``fast-import``, and then the clone
never gets a work tree at all (its branch is moved, not checked out).
A local work tree is used in place and never reset or cleaned. Which files change and what the
message says is decided by the caller. Git runs through ``runner.py``, where its failures are
classified; GitPython is loaded only once git runs in the workspace (for a fresh clone, not before
the first commit or question: ``runner.py``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, Self

from imagebot.config import GitSettings
from imagebot.errors import ConfigError, GitError, ImagebotError
from imagebot.gitrepo import address
from imagebot.gitrepo.clone import clone_unless_cached
from imagebot.gitrepo.credentials import GitEnvironment, RemoteUrl, split_password
from imagebot.gitrepo.fastimport import (
    EXECUTABLE,
    REGULAR,
    FileChange,
    cleanup_message,
    write_commit,
)
from imagebot.gitrepo.lock import FileLock
from imagebot.gitrepo.message import check_git_names
from imagebot.gitrepo.snapshot import CommitFiles
from imagebot.model import CommitSha

if TYPE_CHECKING:
    from imagebot.gitrepo.checkout import Checkout

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_LOCK_TIMEOUT", "Workspace"]

DEFAULT_LOCK_TIMEOUT = 600.0


class _Unread:
    """``remote_revision`` before its first read."""


_UNREAD = _Unread()


class Workspace:
    """A checked-out branch that imagebot may commit to and push from. Use ``open``.

    ``root`` is the work tree, ``branch`` the checked-out branch, ``has_remote`` whether ``push``
    can work, ``remote_revision`` the remote branch's sha at the last fetch or push.

    A cached clone opened ``objects_only`` has files in its work tree only once ``check_out``
    wrote them (a git index says so): until then ``snapshot`` gives the commit's files.
    """

    def __init__(self, checkout: Checkout, *, env: GitEnvironment, author: tuple[str, str]) -> None:
        self._git = checkout.git
        self.root = checkout.root
        self.branch = checkout.branch
        self._remote = checkout.remote
        self.has_remote = checkout.remote is not None
        self._remote_branch = checkout.remote_branch
        self._cached = checkout.cached
        self._lock = checkout.lock
        self._label = checkout.git.label
        self._env = env
        self._author = author
        self._own_commits: set[str] = set()
        self._committed: CommitSha | None = None  # HEAD, when this workspace made it last
        self._remote_revision: str | _Unread | None = _UNREAD
        self._checked_out = not checkout.cached or (checkout.root / ".git" / "index").exists()
        self._snapshot: CommitFiles | None = None

    @property
    def remote_revision(self) -> str | None:
        # Read when first asked, not at open: a fresh clone then runs no git before its scan.
        if isinstance(self._remote_revision, _Unread):
            self._remote_revision = self._remote_head()
        return self._remote_revision

    @remote_revision.setter
    def remote_revision(self, value: str | None) -> None:
        self._remote_revision = value

    @classmethod
    def open(
        cls,
        settings: GitSettings,
        *,
        cache_root: Path | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        meanwhile: Callable[[], object] | None = None,
        objects_only: bool = False,
    ) -> Workspace:
        """Clone or reuse ``settings.repo`` and check out ``settings.branch`` (None: the remote's
        default branch). Waits up to ``lock_timeout`` s for another process using the same
        workspace.

        ``objects_only``: the caller reads files through ``snapshot`` and commits with
        ``commit_texts``, so a cached clone's files need not be written out (they are anyway
        when the commit must be signed or dated, which ``fast-import`` cannot do).

        ``meanwhile`` runs once, after a first clone has started and before anything waits for
        it, and before GitPython is loaded: the CLI loads the rest of imagebot there, so that the
        clone and the imports proceed together. It runs at once when there is nothing to clone.
        """
        check_git_names(settings)
        where = address.parse_repo(settings.repo)
        if isinstance(where, address.WorkTree):
            env = GitEnvironment(settings, None)
            try:
                _call(meanwhile)
                from imagebot.gitrepo.checkout import open_in_place

                checkout = open_in_place(
                    where.path,
                    settings,
                    lock_timeout=lock_timeout,
                    env=env.variables,
                    secrets=[env.token],
                )
            except BaseException:
                env.close()
                raise
            return cls(checkout, env=env, author=(settings.author_name, settings.author_email))
        remote = split_password(where.url)
        env = GitEnvironment(settings, remote)
        try:
            root = address.cache_root(settings, cache_root)
            checkout = _open_cached(
                remote, settings, root, env, lock_timeout=lock_timeout, meanwhile=meanwhile
            )
        except BaseException:
            env.close()
            raise
        workspace = cls(checkout, env=env, author=(settings.author_name, settings.author_email))
        try:
            if not checkout.fresh:
                workspace.refresh()
            if not (objects_only and workspace.commits_without_work_tree):
                workspace.check_out()
        except BaseException:
            workspace.close()
            raise
        return workspace

    def snapshot(self) -> CommitFiles | None:
        """The files of HEAD read from the object store, while the work tree was never written
        out; None when ``root`` holds them. A commit with a symlink is checked out instead (where
        a link leads is the work tree's business), and None is returned."""
        if self._checked_out:
            return None
        if self._snapshot is None:
            files = CommitFiles.of(self.root, self._env.variables)
            if files.has_links:
                self.check_out()
                return None
            self._snapshot = files
        return self._snapshot

    def check_out(self) -> None:
        """Write the branch's files into the work tree, when that was never done."""
        if self._checked_out:
            return
        self._drop_snapshot()
        self._force_check_out("HEAD")
        self._checked_out = True

    def use_author(self, name: str, email: str) -> None:
        """Commit as this author from now on (the repository's own imagebot.yaml may name one,
        and it can only be read after the workspace is open)."""
        self._author = (name, email)

    def head(self) -> CommitSha:
        return CommitSha(self._git.run("read HEAD", "rev-parse", "--verify", "HEAD"))

    def commit(self, paths: Sequence[str], message: str) -> CommitSha | None:
        """Commit exactly ``paths`` (relative to ``root``); None when none of them changed.

        Other staged or modified files in a work tree used in place stay as they are.
        """
        if not paths:
            return None
        if not self._checked_out:  # the index would hold only ``paths``: a commit deleting all else
            raise GitError(f"{self._label}: no work tree to commit from; commit_texts instead")
        self._git.run("stage changes", "add", "--all", "--", *paths)
        signing = [word for option in self._env.signing_options for word in ("-c", option)]
        # The message goes through stdin (-F -): a 1,000-change message exceeds the kernel's
        # limit on command lines, and every later run would fail the same way.
        args = ["commit", "--no-verify", "--cleanup=whitespace", "-F", "-", "--", *paths]
        try:
            self._git.run(
                "commit",
                *signing,
                *args,
                env=self._author_environment(),
                stdin=message.encode("utf-8"),
            )
        except ImagebotError as error:
            from imagebot.gitrepo.failures import signing_failed  # GitPython is loaded by now

            if self._env.signing_key and signing_failed(str(error)):
                raise ConfigError(
                    f"git.signingKey: signing the commit with the {self._env.signing_format} "
                    f"key {self._env.signing_key!r} failed; check that the key exists, its "
                    f"program is installed and it needs no passphrase prompt. {error}"
                ) from error
            # git refuses a commit without changes: asked only then, it costs no git run.
            if self._nothing_staged(paths):
                return None
            raise
        sha = self._committed = self.head()
        self._own_commits.add(sha)
        log.info("committed %s on %s in %s", sha[:12], self.branch, self._label)
        return sha

    @property
    def commits_without_work_tree(self) -> bool:
        """Whether ``commit_texts`` may commit straight into the object store: only in the cached
        clone of a URL, whose work tree nobody reads, and only for an unsigned commit dated now
        (fast-import can neither sign nor take ``GIT_COMMITTER_DATE``)."""
        dated = any(os.environ.get(f"GIT_{who}_DATE") for who in ("AUTHOR", "COMMITTER"))
        return self._cached and not self._env.signing_key and not dated

    def commit_texts(self, texts: Mapping[str, str], message: str) -> CommitSha | None:
        """Commit ``texts`` (path relative to ``root``, symlinks resolved -> new text) on the
        branch with one ``git fast-import``: one process and one pack for any number of files.

        Only where ``commits_without_work_tree``: the work tree and index keep the old texts
        until the next refresh resets them. None when there is nothing to commit.
        """
        cleaned = cleanup_message(message)
        if not texts or not cleaned:
            return None
        files = {path: FileChange(text, self._mode(path)) for path, text in texts.items()}

        def stream(out: BinaryIO) -> None:
            write_commit(out, branch=self.branch, files=files, message=cleaned, author=self._author)

        out = self._git.run(
            "commit",
            "fast-import",
            "--quiet",
            "--done",
            "--date-format=now",
            stdin=stream,
        )
        sha = self._committed = CommitSha(out.split()[-1])
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
        self._git.push(
            self._remote, refspec, ref=f"refs/heads/{target}", lease=lease, action=action
        )
        head = self._committed or self.head()  # no git run for what fast-import just said
        if target == self._remote_branch:
            self.remote_revision = head
        log.info("pushed %s to %s of %s", head[:12], target, self._label)

    def refresh(self) -> None:
        """Fetch and move to the remote branch's new head, dropping this run's commits."""
        if self._remote is None:
            return
        self._committed = None
        self._fetch(shallow=self._cached)
        if self._cached and not self._checked_out:
            self._drop_snapshot()  # only the branch moves: there is no work tree to reset
            self._git.run(
                "move the branch", "update-ref", f"refs/heads/{self.branch}", self._tracking_ref
            )
            self._git.run("move HEAD", "symbolic-ref", "HEAD", f"refs/heads/{self.branch}")
            self._own_commits.clear()
            return
        if self._cached:
            self._reset_hard()
            return
        # In place: drop only commits made by this workspace, and keep others' uncommitted work.
        ahead = self._git.run("list local commits", "rev-list", f"{self._tracking_ref}..HEAD")
        foreign = set(ahead.split()) - self._own_commits
        if foreign:
            raise GitError(
                f"{self.root}: branch {self.branch} has {len(foreign)} unpushed commit(s) not "
                "made by imagebot; push or drop them, then run again"
            )
        self._git.run("reset to the remote branch", "reset", "--keep", self._tracking_ref)

    def close(self) -> None:
        """Release the workspace; closing it again does nothing."""
        self._drop_snapshot()
        self._git.close()
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

    def _mode(self, path: str) -> str:
        """The file mode ``git add`` would record for the file at ``path`` now."""
        files = None if self._checked_out else self.snapshot()
        if files is not None:  # no work tree: the mode the commit has
            return EXECUTABLE if files.mode(path) == EXECUTABLE else REGULAR
        try:
            executable = (self.root / path).stat().st_mode & 0o100
        except OSError:
            executable = 0  # a new file: written as a regular one, as write_files makes it
        return EXECUTABLE if executable else REGULAR

    def _drop_snapshot(self) -> None:
        if self._snapshot is not None:
            self._snapshot.close()
            self._snapshot = None

    @property
    def _tracking_ref(self) -> str:
        return f"refs/remotes/{self._remote}/{self._remote_branch}"

    def _nothing_staged(self, paths: Sequence[str]) -> bool:
        status = self._git.status(
            "compare staged files", "diff", "--cached", "--quiet", "--", *paths
        )
        return status == 0

    def _fetch(self, *, shallow: bool) -> None:
        depth = ["--depth", "1"] if shallow else []
        spec = f"+refs/heads/{self._remote_branch}:{self._tracking_ref}"
        self._git.run("fetch", "fetch", "--no-tags", *depth, str(self._remote), spec)
        self.remote_revision = self._remote_head()
        log.debug("fetched %s: %s", self._label, self.remote_revision)

    def _reset_hard(self) -> None:
        self._force_check_out(self._tracking_ref)
        self._own_commits.clear()

    def _force_check_out(self, revision: str) -> None:
        """The branch at ``revision``, its files written out and nothing else left beside them."""
        self._git.run("check out", "checkout", "--force", "-B", self.branch, revision)
        self._git.run("clean", "clean", "-ffdxq")

    def _remote_head(self) -> str | None:
        if self._remote is None:
            return None
        return self._git.output("rev-parse", "--verify", "--quiet", self._tracking_ref)

    def _remote_value(self, branch: str) -> str:
        """The sha of ``branch`` on the remote now, or "" when it does not exist (the lease)."""
        listing = self._git.run(
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


def _open_cached(
    remote: RemoteUrl,
    settings: GitSettings,
    root: Path,
    env: GitEnvironment,
    *,
    lock_timeout: float,
    meanwhile: Callable[[], object] | None,
) -> Checkout:
    """Lock the cache directory of the URL and branch, start the clone when there is none,
    run ``meanwhile``, then complete the checkout. The lock is released when this fails."""
    directory = address.cache_dir(root, remote.url, settings.branch)
    lock = FileLock(directory.parent / f"{directory.name}.lock")
    lock.acquire(lock_timeout)
    clone = None
    try:
        clone = clone_unless_cached(remote.url, directory, settings.branch, env.variables)
        _call(meanwhile)
        from imagebot.gitrepo.checkout import open_cached

        return open_cached(
            remote.url,
            settings,
            directory=directory,
            lock=lock,
            clone=clone,
            env=env.variables,
            secrets=[env.token, remote.password],
        )
    except BaseException:
        if clone is not None:
            clone.cancel()
        lock.release()
        raise


def _call(meanwhile: Callable[[], object] | None) -> None:
    if meanwhile is not None:
        meanwhile()
