"""Start opening a workspace before the rest of imagebot has loaded: lock, then clone at once.

``begin_open`` settles the credentials' environment, takes the cache's lock and, when there is no
cached clone yet, starts ``git clone`` as a child process and returns; the clone then runs while
the caller imports the registry, YAML and GitPython stacks (about 0.15 s of a CLI run).
``Opening.finish`` hands everything to ``Workspace`` to complete. Nothing here imports GitPython.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from imagebot.config import GitSettings
from imagebot.gitrepo import location
from imagebot.gitrepo.credentials import GitEnvironment, RemoteUrl, split_password
from imagebot.gitrepo.location import Location, cache_dir, locate
from imagebot.gitrepo.lock import FileLock

if TYPE_CHECKING:
    from imagebot.gitrepo.workspace import Workspace

NETWORK_TIMEOUT = 300.0  # seconds any one clone, fetch or push may take before it is killed
DEFAULT_LOCK_TIMEOUT = 600.0


class PendingClone:
    """``git clone --depth 1`` into ``<directory>.partial``, running; ``wait`` collects it.

    Git's own messages go to a temporary file rather than a pipe, so a long error can never fill
    a pipe nobody reads yet. The caller renames the partial clone into place.
    """

    def __init__(
        self, url: str, directory: Path, branch: str | None, env: Mapping[str, str]
    ) -> None:
        self.partial = directory.parent / f"{directory.name}.partial"
        shutil.rmtree(self.partial, ignore_errors=True)
        directory.parent.mkdir(parents=True, exist_ok=True)
        args = ["clone", "--quiet", "--depth", "1", "--no-tags", "--single-branch"]
        args += ["--branch", branch] if branch else []
        self.command = ["git", *args, "--", url, str(self.partial)]
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by wait or cancel
        # As GitPython runs git: English messages (failures.classify reads them), no prompts.
        environment = {**os.environ, "LANGUAGE": "C", "LC_ALL": "C", **env}
        try:
            self._process = subprocess.Popen(
                self.command,
                cwd=directory.parent,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
            )
        except BaseException:
            self._stderr.close()
            raise
        self._deadline = time.monotonic() + NETWORK_TIMEOUT

    def wait(self) -> tuple[int, str]:
        """Git's exit status and what it printed; a clone past its time is killed (status -9)."""
        try:
            status = self._process.wait(timeout=max(0.0, self._deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.cancel()
            return -9, (
                f'Timeout: the command "{" ".join(self.command)}" did not complete in '
                f"{NETWORK_TIMEOUT:g} secs."
            )
        self._stderr.seek(0)
        printed = self._stderr.read().decode("utf-8", "replace")
        self._stderr.close()
        return status, printed

    def cancel(self) -> None:
        """Stop the clone if it still runs and remove what it wrote."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._stderr.close()
        shutil.rmtree(self.partial, ignore_errors=True)


class Opening:
    """A workspace being opened: for a URL, its cache lock is held and ``clone`` may be running.

    Pass ``finish`` as the opener (``Edges.open_workspace``); ``close`` undoes whatever
    ``finish`` did not take over, and is safe to call after it.
    """

    def __init__(
        self,
        settings: GitSettings,
        *,
        cache_root: Path | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        self.settings = settings
        self.lock_timeout = lock_timeout
        self.where: Location = locate(settings.repo)
        self.remote: RemoteUrl | None = split_password(self.where.url) if self.where.url else None
        self.env = GitEnvironment(settings, self.remote)
        self._owns_env = True
        self.lock: FileLock | None = None
        self.directory: Path | None = None
        self.clone: PendingClone | None = None
        if self.remote is None:
            return  # a work tree in place: its lock lives in its .git, found by GitPython
        try:
            root = location.cache_root(settings, cache_root)
            self.directory = cache_dir(root, self.remote.url, settings.branch)
            self.lock = FileLock(self.directory.parent / f"{self.directory.name}.lock")
            self.lock.acquire(lock_timeout)
            if not (self.directory / ".git").is_dir():
                # Nothing reusable: whatever a killed run left there goes, and the clone starts.
                shutil.rmtree(self.directory, ignore_errors=True)
                self.clone = PendingClone(
                    self.remote.url, self.directory, settings.branch, self.env.variables
                )
        except BaseException:
            self.close()
            raise

    def finish(self, settings: GitSettings) -> Workspace:
        """The opened workspace (see ``Workspace.open``), for the settings it was begun with."""
        from imagebot.gitrepo.workspace import Workspace

        if settings != self.settings:  # pragma: no cover - a caller's mistake, handled plainly
            self.close()
            return Workspace.open(settings, lock_timeout=self.lock_timeout)
        return Workspace.open_begun(self)

    def take(self) -> tuple[FileLock | None, PendingClone | None]:
        """Hand the lock, the clone and the environment over to the workspace being made."""
        lock, clone = self.lock, self.clone
        self.lock = self.clone = None
        self._owns_env = False
        return lock, clone

    def close(self) -> None:
        if self.clone is not None:
            self.clone.cancel()
            self.clone = None
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        if self._owns_env:
            self._owns_env = False
            self.env.close()


def begin_open(
    settings: GitSettings,
    *,
    cache_root: Path | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> Opening:
    """Lock the workspace of ``settings.repo`` and start its clone when none is cached yet.

    Raises what ``Workspace.open`` raises for bad settings (``ConfigError``) or a held lock.
    """
    return Opening(settings, cache_root=cache_root, lock_timeout=lock_timeout)
