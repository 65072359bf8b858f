"""``git clone --depth 1 --no-checkout`` as a child process: started at once, awaited later.

``Workspace.open`` starts the clone before GitPython and the rest of imagebot are loaded, so that
the two proceed together (about 0.2 s of a CLI run). Nothing here imports GitPython.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from imagebot.gitrepo.children import ensure_reaper

NETWORK_TIMEOUT = 300.0  # seconds any one clone, fetch or push may take before it is killed


def git_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The environment of a git child imagebot starts itself, as GitPython starts its own:
    English messages (failures.classify reads them), plus the workspace's ``env``."""
    return {**os.environ, "LANGUAGE": "C", "LC_ALL": "C", **env}


def clone_unless_cached(
    url: str, directory: Path, branch: str | None, env: Mapping[str, str]
) -> PendingClone | None:
    """Start cloning ``url`` into ``directory`` when it holds no clone to reuse; else None.

    Whatever a killed run left there that is not a clone is removed first. The caller holds the
    cache's lock.
    """
    if (directory / ".git").is_dir():
        return None
    shutil.rmtree(directory, ignore_errors=True)
    return PendingClone(url, directory, branch, env)


class PendingClone:
    """``git clone --depth 1`` into ``<directory>.partial``, running; ``wait`` collects it.

    Git's own messages go to a temporary file rather than a pipe, so a long error can never fill
    a pipe nobody reads yet. The caller renames the partial clone into place.
    """

    def __init__(
        self, url: str, directory: Path, branch: str | None, env: Mapping[str, str]
    ) -> None:
        self.directory = directory
        self.partial = directory.parent / f"{directory.name}.partial"
        shutil.rmtree(self.partial, ignore_errors=True)
        directory.parent.mkdir(parents=True, exist_ok=True)
        # No checkout: the workspace writes the files out only for a caller that reads them.
        args = ["clone", "--quiet", "--no-checkout", "--depth", "1", "--no-tags", "--single-branch"]
        args += ["--branch", branch] if branch else []
        self.command = ["git", *args, "--", url, str(self.partial)]
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by wait or cancel
        environment = git_environment(env)
        try:
            ensure_reaper()
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
