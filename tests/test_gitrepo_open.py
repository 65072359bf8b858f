"""Opening a workspace: the clone runs while ``meanwhile`` does, and an abandoned one is undone.

Real bare repositories over file:// and the real git binary, as in test_gitrepo_workspace.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot.config import GitSettings
from imagebot.errors import ConfigError
from imagebot.gitrepo import Workspace
from tests.rig.git import run_git

MANIFEST = b"image: flask:develop-v1.8.0\n"

pytestmark = pytest.mark.usefixtures("isolated_git")


@pytest.fixture
def settings(bare_remote: Callable[..., Path]) -> GitSettings:
    return GitSettings(repo=bare_remote({"deploy/app.yaml": MANIFEST}).as_uri())


def partial_clones(cache: Path) -> list[Path]:
    return list(cache.glob("*.partial"))


def test_the_clone_is_under_way_while_meanwhile_runs(settings: GitSettings, tmp_path: Path) -> None:
    def wait_for_git_to_write() -> None:
        """Returns once git has begun its clone: it never would if the clone waited for us."""
        deadline = time.monotonic() + 30
        while not partial_clones(tmp_path):
            assert time.monotonic() < deadline, "git did not start cloning while meanwhile ran"
            time.sleep(0.005)

    with Workspace.open(
        settings, cache_root=tmp_path, meanwhile=wait_for_git_to_write
    ) as workspace:
        assert (workspace.root / "deploy/app.yaml").read_bytes() == MANIFEST
        assert workspace.remote_revision
    assert not partial_clones(tmp_path)  # the finished clone was renamed into place


def test_a_fresh_clone_opens_without_gitpython(settings: GitSettings, tmp_path: Path) -> None:
    """The point of ``meanwhile``: the CLI's imports overlap the clone. GitPython is not among
    them: a fresh clone is opened (its branch read from HEAD) and scanned before git runs in
    it, so ``imagebot run`` loads GitPython while its scan is under way; the first git command
    loads it."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from imagebot.config import GitSettings\n"
        "from imagebot.gitrepo import Workspace\n"
        "seen = []\n"
        f"settings = GitSettings(repo={settings.repo!r})\n"
        f"with Workspace.open(settings, cache_root=Path({str(tmp_path)!r}), objects_only=True,\n"
        "                    meanwhile=lambda: seen.append('git' in sys.modules)) as w:\n"
        "    loaded = 'git' in sys.modules\n"
        "    print('OPEN ON', w.branch, 'GIT LOADED IN MEANWHILE', seen, 'AFTER', loaded)\n"
        "    w.head()\n"
        "    print('AFTER A COMMAND', 'git' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "OPEN ON main GIT LOADED IN MEANWHILE [False] AFTER False" in out
    assert "AFTER A COMMAND True" in out


def test_meanwhile_runs_once_for_a_reused_cache_and_a_work_tree_in_place(
    settings: GitSettings, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    Workspace.open(settings, cache_root=cache).close()
    calls: list[str] = []
    Workspace.open(settings, cache_root=cache, meanwhile=lambda: calls.append("cached")).close()
    tree = tmp_path / "tree"
    run_git("clone", "--quiet", settings.repo, str(tree))
    Workspace.open(GitSettings(repo=str(tree)), meanwhile=lambda: calls.append("in place")).close()
    assert calls == ["cached", "in place"]


def test_a_failure_in_meanwhile_stops_the_clone_and_frees_the_lock(
    settings: GitSettings, tmp_path: Path
) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Workspace.open(settings, cache_root=tmp_path, meanwhile=interrupted)
    assert not partial_clones(tmp_path)
    Workspace.open(settings, cache_root=tmp_path, lock_timeout=0).close()  # the lock is free


def test_a_failed_clone_is_reported_and_leaves_nothing_behind(
    settings: GitSettings, tmp_path: Path
) -> None:
    wrong = GitSettings(repo=settings.repo, branch="no-such-branch")
    with pytest.raises(ConfigError, match="does not exist"):
        Workspace.open(wrong, cache_root=tmp_path)
    assert not partial_clones(tmp_path)
    with pytest.raises(ConfigError):  # the lock was released: the second try fails the same way
        Workspace.open(wrong, cache_root=tmp_path, lock_timeout=0)


def test_closing_twice_does_nothing(settings: GitSettings, tmp_path: Path) -> None:
    """The CLI hands its open workspace to reconcile, which closes it; the CLI's ``with`` too."""
    workspace = Workspace.open(settings, cache_root=tmp_path)
    workspace.close()
    workspace.close()
    Workspace.open(settings, cache_root=tmp_path, lock_timeout=0).close()
