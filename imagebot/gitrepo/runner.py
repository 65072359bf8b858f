"""Running git in an opened checkout, with every failure classified and its secrets taken out.

The one place where a workspace's git commands meet GitPython: ``run`` for commands whose
failure is an error, ``status`` and ``output`` for questions git answers with its exit status,
``push`` for a push whose per-ref result is read from its flags. What to run and why is decided
in ``workspace.py``.

GitPython loads with the first command, not with the runner: a fresh clone is scanned before
imagebot runs any git command in it, so ``imagebot run`` loads GitPython (~0.05 s, and two
``git version`` children) while the scan is under way instead of before it.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from imagebot.errors import GitError, ImagebotError, PushRejected
from imagebot.gitrepo.clone import NETWORK_TIMEOUT
from imagebot.gitrepo.failures import Redactor, classify, lost_race

if TYPE_CHECKING:
    from git import Repo
    from git.exc import GitCommandError
    from git.remote import PushInfo


class GitRunner:
    """Git commands in the repository at ``root``, with ``env`` set for each; ``label`` names
    the workspace in messages (no secrets). ``repo``: one opened already, else opened on first
    use."""

    def __init__(
        self,
        root: Path,
        *,
        label: str,
        redact: Redactor,
        env: Mapping[str, str] | None = None,
        repo: Repo | None = None,
    ) -> None:
        self.root = root
        self.label = label
        self.redact = redact
        self._env = dict(env or {})
        self._repo = repo
        if repo is not None:
            repo.git.update_environment(**self._env)

    @property
    def repo(self) -> Repo:
        if self._repo is None:
            from git import Repo

            self._repo = Repo(self.root)
            self._repo.git.update_environment(**self._env)
        return self._repo

    def run(
        self,
        action: str,
        *args: str,
        env: Mapping[str, str] | None = None,
        stdin: bytes | Callable[[BinaryIO], object] | None = None,
    ) -> str:
        """Git's output, stripped; a failure raises the classified error for ``action``.

        ``stdin`` is git's standard input, from a temporary file: data of any size, such as a
        commit message, never goes on the command line (whose length the kernel limits). Given
        a function, it writes the file itself: a large input need not be held whole first.
        """
        with contextlib.ExitStack() as stack:
            source = None
            if stdin is not None:
                source = stack.enter_context(tempfile.TemporaryFile())
                if callable(stdin):
                    stdin(source)
                else:
                    source.write(stdin)
                source.seek(0)
            repo = self.repo
            from git.exc import GitCommandError

            try:
                out: str = repo.git.execute(
                    ["git", *args], env=env, kill_after_timeout=NETWORK_TIMEOUT, istream=source
                )
            except GitCommandError as error:
                raise self._error(error, f"{action} in {self.label}") from error
        return out.strip()

    def status(self, action: str, *args: str, answers: Sequence[int] = (0, 1)) -> int:
        """Git's exit status when it is one of ``answers``; any other is a classified error."""
        status, _, stderr = self.repo.git.execute(
            ["git", *args], with_extended_output=True, with_exceptions=False
        )
        if status not in answers:
            from git.exc import GitCommandError

            cause = GitCommandError(["git", *args[:1]], status, stderr)
            raise self._error(cause, f"{action} in {self.label}") from cause
        return int(status)

    def output(self, *args: str) -> str | None:
        """Git's output when it exits 0, else None (``rev-parse --verify --quiet`` and kin)."""
        status, out, _ = self.repo.git.execute(
            ["git", *args], with_extended_output=True, with_exceptions=False
        )
        return str(out).strip() if status == 0 else None

    def push(self, remote: str, refspec: str, *, ref: str, lease: str | None, action: str) -> None:
        """Push ``refspec`` to ``remote`` and check that ``ref`` was updated there.

        ``action`` names the whole push (``push to BRANCH of LABEL``). Raises ``PushRejected``
        when the branch moved on, a classified error otherwise.
        """
        repo = self.repo
        from git.exc import GitCommandError

        try:
            results = repo.remote(remote).push(
                refspec, kill_after_timeout=NETWORK_TIMEOUT, no_verify=True, force_with_lease=lease
            )
        except GitCommandError as error:
            raise self._error(error, action) from error
        self._check_push(results, ref, action)

    def active_branch(self) -> str:
        """The checked-out branch's name (GitPython raises TypeError on a detached HEAD)."""
        return str(self.repo.active_branch.name)

    def close(self) -> None:
        if self._repo is not None:
            self._repo.close()

    def _error(self, error: GitCommandError, action: str) -> ImagebotError:
        return classify(error, action=action, redact=self.redact)

    def _check_push(self, results: Sequence[PushInfo], ref: str, action: str) -> None:
        """Raise for a push that did not update ``ref``: GitPython reports rejections as flags."""
        from git.exc import GitCommandError
        from git.remote import PushInfo

        info = next((item for item in results if item.remote_ref_string == ref), None)
        if info is None:
            cause = getattr(results, "error", None)
            if isinstance(cause, GitCommandError):
                raise self._error(cause, action) from cause
            raise GitError(f"{action} failed: git reported nothing for {ref}")
        summary = self.redact(info.summary.strip())
        if info.flags & PushInfo.REJECTED or (
            info.flags & PushInfo.REMOTE_REJECTED and lost_race(info.summary)
        ):
            raise PushRejected(f"{action} was rejected, the branch moved on: {summary}")
        if info.flags & (PushInfo.REMOTE_REJECTED | PushInfo.REMOTE_FAILURE | PushInfo.ERROR):
            raise GitError(f"{action} failed on the remote side: {summary}")
