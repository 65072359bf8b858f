"""A local work tree is used in place: imagebot commits only its files and never resets the user's.

Also: a bare repository path is cloned like a URL, and a second workspace on the same clone waits
for the first (one process at a time per workspace, across processes).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot.config import GitSettings
from imagebot.errors import ConfigError, GitError, PushRejected
from imagebot.gitrepo import Workspace
from tests.rig.bare import IDENTITY
from tests.rig.git import git_env, run_git

MANIFEST = b"image: flask:develop-v1.8.0\n"
NEW = b"image: flask:develop-v1.9.0\n"


pytestmark = pytest.mark.usefixtures("isolated_git")


def git(tree: Path, *args: str) -> str:
    return run_git("-C", str(tree), *args, env=git_env(**IDENTITY))


@pytest.fixture
def work_tree(tmp_path: Path) -> Path:
    """A user's repository with one commit on ``main`` and no remote."""
    tree = tmp_path / "gitops"
    run_git("init", "--quiet", "--initial-branch=main", str(tree))
    (tree / "app.yaml").write_bytes(MANIFEST)
    (tree / "notes.md").write_bytes(b"notes\n")
    git(tree, "add", "--all")
    git(tree, "commit", "--quiet", "-m", "Start")
    return tree


@pytest.fixture
def cloned_tree(bare_remote: Callable[..., Path], tmp_path: Path) -> tuple[Path, Path]:
    """A user's clone of a bare remote: (work tree, remote)."""
    remote = bare_remote({"app.yaml": MANIFEST, "notes.md": b"notes\n"})
    tree = tmp_path / "clone"
    run_git("clone", "--quiet", remote.as_uri(), str(tree))
    return tree, remote


@pytest.mark.rig
def test_a_work_tree_without_remote_gets_a_commit_of_only_imagebots_files(
    work_tree: Path,
) -> None:
    (work_tree / "notes.md").write_bytes(b"the user's staged edit\n")
    git(work_tree, "add", "notes.md")
    (work_tree / "draft.md").write_bytes(b"the user's untracked file\n")

    with Workspace.open(GitSettings(repo=str(work_tree / "."))) as workspace:
        assert (workspace.root, workspace.branch) == (work_tree, "main")
        assert not workspace.has_remote
        assert workspace.remote_revision is None
        (work_tree / "app.yaml").write_bytes(NEW)
        sha = workspace.commit(["app.yaml"], "Update flask")
        with pytest.raises(ConfigError, match="no remote"):
            workspace.push()

    assert git(work_tree, "rev-parse", "HEAD").strip() == sha
    assert git(work_tree, "show", "--name-only", "--format=", "HEAD").split() == ["app.yaml"]
    assert git(work_tree, "status", "--porcelain").splitlines() == ["M  notes.md", "?? draft.md"]


@pytest.mark.rig
def test_a_named_branch_is_checked_out_in_place(work_tree: Path) -> None:
    git(work_tree, "branch", "deploy")
    with Workspace.open(GitSettings(repo=str(work_tree), branch="deploy")) as workspace:
        (work_tree / "app.yaml").write_bytes(NEW)
        sha = workspace.commit(["app.yaml"], "Update flask")
    assert git(work_tree, "rev-parse", "deploy").strip() == sha
    assert git(work_tree, "rev-parse", "main").strip() != sha


def test_a_clone_in_place_pushes_and_refresh_keeps_the_users_work(
    cloned_tree: tuple[Path, Path], tmp_path: Path
) -> None:
    tree, remote = cloned_tree
    (tree / "draft.md").write_bytes(b"the user's untracked file\n")
    (tree / "notes.md").write_bytes(b"the user's unstaged edit\n")
    other = tmp_path / "other"
    run_git("clone", "--quiet", remote.as_uri(), str(other))

    with Workspace.open(GitSettings(repo=str(tree))) as workspace:
        assert workspace.has_remote
        (tree / "app.yaml").write_bytes(NEW)
        workspace.commit(["app.yaml"], "Update flask")
        (other / "README.md").write_bytes(b"theirs\n")
        git(other, "add", "README.md")
        git(other, "commit", "--quiet", "-m", "Theirs")
        git(other, "push", "--quiet", "origin", "main")
        with pytest.raises(PushRejected):
            workspace.push()
        workspace.refresh()
        assert (tree / "app.yaml").read_bytes() == MANIFEST
        (tree / "app.yaml").write_bytes(NEW)
        sha = workspace.commit(["app.yaml"], "Update flask")
        workspace.push()

    assert run_git("--git-dir", str(remote), "rev-parse", "main").strip() == sha
    assert (tree / "draft.md").exists()
    assert (tree / "notes.md").read_bytes() == b"the user's unstaged edit\n"
    assert git(tree, "rev-parse", "--is-shallow-repository") == "false\n"


def test_refresh_in_place_will_not_drop_the_users_unpushed_commits(
    cloned_tree: tuple[Path, Path],
) -> None:
    tree, _ = cloned_tree
    (tree / "notes.md").write_bytes(b"the user's commit\n")
    git(tree, "commit", "--quiet", "-am", "Mine, not pushed")
    with (
        Workspace.open(GitSettings(repo=str(tree))) as workspace,
        pytest.raises(GitError, match="1 unpushed commit"),
    ):
        workspace.refresh()
    assert git(tree, "log", "-1", "--format=%s").strip() == "Mine, not pushed"


def test_a_bare_repository_path_is_cloned_like_a_url(
    bare_remote: Callable[..., Path], tmp_path: Path
) -> None:
    remote = bare_remote({"app.yaml": MANIFEST})
    with Workspace.open(GitSettings(repo=str(remote)), cache_root=tmp_path / "c") as workspace:
        assert workspace.root.parent == tmp_path / "c"
        (workspace.root / "app.yaml").write_bytes(NEW)
        workspace.commit(["app.yaml"], "Update flask")
        workspace.push()
    assert run_git("--git-dir", str(remote), "show", "main:app.yaml").encode() == NEW


@pytest.mark.parametrize(
    ("repo", "complaint"),
    [
        pytest.param("{tmp}/missing", "neither a Git URL nor an existing directory", id="missing"),
        pytest.param("{tmp}", "not inside a Git repository", id="plain-directory"),
    ],
)
def test_a_path_that_is_no_repository_is_a_config_error(
    repo: str, complaint: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=complaint):
        Workspace.open(GitSettings(repo=repo.format(tmp=tmp_path)))


@pytest.mark.rig
def test_a_second_workspace_on_the_same_clone_is_refused_while_the_first_holds_it(
    work_tree: Path,
) -> None:
    holding = GitSettings(repo=str(work_tree))
    with Workspace.open(holding), pytest.raises(GitError, match=rf"pid {os.getpid()}\) still"):
        Workspace.open(GitSettings(repo=str(work_tree)), lock_timeout=0)
    with Workspace.open(GitSettings(repo=str(work_tree)), lock_timeout=0):
        pass  # released on close


CONCURRENT_RUN = """
import sys
from pathlib import Path
from imagebot.config import GitSettings
from imagebot.gitrepo import Workspace

url, cache, name = sys.argv[1:]
with Workspace.open(GitSettings(repo=url), cache_root=Path(cache)) as workspace:
    (workspace.root / f"{name}.yaml").write_text(name + "\\n")
    workspace.commit([f"{name}.yaml"], "Add " + name)
    workspace.push()
"""


def test_processes_sharing_a_cache_take_turns_and_every_commit_lands(
    bare_remote: Callable[..., Path], tmp_path: Path
) -> None:
    remote = bare_remote({"app.yaml": MANIFEST})
    names = ["one", "two", "three", "four"]
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_RUN, remote.as_uri(), str(tmp_path / "c"), name],
            stderr=subprocess.PIPE,
        )
        for name in names
    ]
    for run in runs:
        _, stderr = run.communicate(timeout=60)
        assert run.returncode == 0, stderr.decode()
    tree = run_git("--git-dir", str(remote), "ls-tree", "--name-only", "main").split()
    assert sorted(tree) == sorted(["app.yaml", *(f"{name}.yaml" for name in names)])
    merges = run_git("--git-dir", str(remote), "rev-list", "--merges", "main")
    assert merges == ""
