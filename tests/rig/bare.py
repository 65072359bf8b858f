"""Bare Git repositories for tests, built with the git binary and deterministic commits.

`make_bare_repo` writes files into a new bare repository as one commit on one branch, with fixed
author, committer and dates, so the commit id is the same on every run. It runs no servers.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tests.rig import procs

IDENTITY = {
    "GIT_AUTHOR_NAME": "imagebot rig",
    "GIT_AUTHOR_EMAIL": "rig@imagebot.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "imagebot rig",
    "GIT_COMMITTER_EMAIL": "rig@imagebot.invalid",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
}


def git_env(**extra: str) -> dict[str, str]:
    """The environment for rig git commands: no system or user config leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_TERMINAL_PROMPT="0")
    env.update(extra)
    return env


def run_git(*args: str, env: Mapping[str, str] | None = None) -> str:
    """Run git, returning stdout; failures raise with git's own message."""
    binary = procs.require_binary("git", "git")
    result = subprocess.run(
        [binary, *args], env=dict(env or git_env()), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise procs.RigError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def make_bare_repo(path: Path, files: Mapping[str, bytes], branch: str = "main") -> Path:
    """A bare repository at `path` whose `branch` holds `files` (relative paths) in one commit.

    Pushing to it over smart HTTP is allowed (`http.receivepack`), and HEAD names `branch`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    run_git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(path))
    run_git("--git-dir", str(path), "config", "http.receivepack", "true")
    if not files:
        return path
    with tempfile.TemporaryDirectory(prefix="imagebot-rig-tree-") as scratch:
        tree = Path(scratch, "tree")
        for name, content in files.items():
            target = tree / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        # The index lives beside the tree, not in it, so it never lands in the commit.
        env = git_env(GIT_INDEX_FILE=str(Path(scratch, "index")), **IDENTITY)
        common = ("--git-dir", str(path), "--work-tree", str(tree))
        run_git(*common, "add", "--all", env=env)
        run_git(*common, "commit", "--quiet", "-m", "Seed the test remote", env=env)
    return path
