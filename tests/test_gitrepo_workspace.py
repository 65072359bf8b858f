"""A cached clone of a URL: shallow clone, reuse after a crash, commit, push, rejection, refresh.

Every test talks to real bare repositories over file:// with the real git binary.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot.errors import ConfigError, PushRejected
from imagebot.gitrepo import Workspace
from tests.rig.bare import IDENTITY
from tests.rig.git import git_env, run_git

MANIFEST = b"image: flask:develop-v1.8.0\n"
_clones = itertools.count(1)


pytestmark = pytest.mark.usefixtures("isolated_git")


@pytest.fixture
def remote(bare_remote: Callable[..., Path]) -> Path:
    return bare_remote({"deploy/app.yaml": MANIFEST, "README.md": b"demo\n"})


def commit_elsewhere(
    remote: Path, tmp_path: Path, files: dict[str, bytes], branch: str = "main"
) -> str:
    """Someone else pushes a commit to ``branch`` of ``remote``; returns its sha."""
    clone = tmp_path / f"elsewhere-{next(_clones)}"
    run_git("clone", "--quiet", "--branch", branch, remote.as_uri(), str(clone))
    for name, content in files.items():
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        (clone / name).write_bytes(content)
    env = git_env(**IDENTITY)
    run_git("-C", str(clone), "add", "--all", env=env)
    run_git("-C", str(clone), "commit", "--quiet", "-m", "Change elsewhere", env=env)
    run_git("-C", str(clone), "push", "--quiet", "origin", branch)
    return run_git("-C", str(clone), "rev-parse", "HEAD").strip()


def remote_sha(remote: Path, ref: str = "main") -> str:
    return run_git("--git-dir", str(remote), "rev-parse", ref).strip()


def show(remote: Path, spec: str) -> str:
    return run_git("--git-dir", str(remote), "show", spec)


def test_a_url_is_cloned_shallow_on_the_remotes_default_branch(
    bare_remote: Callable[..., Path], open_workspace: Callable[..., Workspace], tmp_path: Path
) -> None:
    remote = bare_remote({"a.yaml": MANIFEST}, branch="trunk")
    workspace = open_workspace(remote)
    assert workspace.branch == "trunk"
    assert workspace.root.parent == tmp_path / "cache"
    assert workspace.head() == workspace.remote_revision == remote_sha(remote, "trunk")
    assert workspace.has_remote
    assert run_git("-C", str(workspace.root), "rev-parse", "--is-shallow-repository") == "true\n"
    assert (workspace.root / "a.yaml").read_bytes() == MANIFEST


def test_a_cached_clone_is_reused_without_a_trace_of_a_crashed_run(
    remote: Path, open_workspace: Callable[..., Workspace], tmp_path: Path
) -> None:
    crashed = open_workspace(remote)
    root = crashed.root
    marker = root / ".git" / "info" / "reused"
    marker.write_text("the same clone\n")
    (root / "deploy/app.yaml").write_bytes(b"image: flask:half-written\n")
    (root / "deploy/new.yaml").write_bytes(b"left behind\n")
    (root / ".gitignore").write_bytes(b"*.tmp\n")
    (root / "scratch.tmp").write_bytes(b"ignored junk\n")
    crashed.commit(["deploy/app.yaml"], "A commit that was never pushed")
    (root / "deploy/app.yaml").write_bytes(b"image: flask:dirty-again\n")
    (root / ".git" / "index.lock").write_bytes(b"")  # as a killed `git add` leaves it
    crashed.close()
    moved_on = commit_elsewhere(remote, tmp_path, {"README.md": b"moved on\n"})

    workspace = open_workspace(remote)

    assert workspace.root == root
    assert marker.exists(), "the cached clone was reused, not cloned again"
    assert workspace.head() == moved_on == workspace.remote_revision
    assert (root / "deploy/app.yaml").read_bytes() == MANIFEST
    assert sorted(p.name for p in root.iterdir()) == [".git", "README.md", "deploy"]
    assert run_git("-C", str(root), "status", "--porcelain") == ""


def test_a_half_made_cache_directory_is_cloned_again(
    remote: Path, open_workspace: Callable[..., Workspace], tmp_path: Path
) -> None:
    first = open_workspace(remote)
    root = first.root
    first.close()
    for child in [*root.iterdir()]:
        if child.name == ".git":
            (child / "HEAD").write_text("garbage\n")
    (root.parent / f"{root.name}.partial").mkdir()

    workspace = open_workspace(remote)

    assert workspace.root == root
    assert workspace.head() == remote_sha(remote)
    assert not (root.parent / f"{root.name}.partial").exists()


def test_a_branch_the_remote_lacks_is_a_config_error(
    remote: Path, open_workspace: Callable[..., Workspace]
) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        open_workspace(remote, branch="no-such-branch")


def test_a_commit_has_the_configured_author_and_only_the_given_paths(
    remote: Path, open_workspace: Callable[..., Workspace]
) -> None:
    workspace = open_workspace(remote, author_name="Image Bot", author_email="bot@example.org")
    (workspace.root / "deploy/app.yaml").write_bytes(b"image: flask:develop-v1.9.0\n")
    (workspace.root / "README.md").write_bytes(b"not part of the run\n")

    sha = workspace.commit(["deploy/app.yaml"], "Update flask to develop-v1.9.0\n\nbody\n")

    assert sha is not None and sha == workspace.head()
    log = run_git("-C", str(workspace.root), "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s")
    assert log.strip() == "Image Bot <bot@example.org>|Image Bot <bot@example.org>|" + (
        "Update flask to develop-v1.9.0"
    )
    changed = run_git("-C", str(workspace.root), "show", "--name-only", "--format=", "HEAD")
    assert changed.split() == ["deploy/app.yaml"]


def test_a_commit_with_nothing_changed_returns_none(
    remote: Path, open_workspace: Callable[..., Workspace]
) -> None:
    workspace = open_workspace(remote)
    before = workspace.head()
    (workspace.root / "deploy/app.yaml").write_bytes(MANIFEST)  # same bytes as committed
    assert workspace.commit(["deploy/app.yaml"], "nothing") is None
    assert workspace.commit([], "nothing") is None
    assert workspace.head() == before


def test_a_commit_can_add_and_delete_files(
    remote: Path, open_workspace: Callable[..., Workspace]
) -> None:
    workspace = open_workspace(remote)
    (workspace.root / "deploy/app.yaml").unlink()
    (workspace.root / "deploy/:(glob)new.yaml").write_bytes(MANIFEST)
    workspace.commit(["deploy/app.yaml", "deploy/:(glob)new.yaml"], "Move the manifest")
    files = run_git("-C", str(workspace.root), "ls-tree", "-r", "--name-only", "HEAD").split()
    assert files == ["README.md", "deploy/:(glob)new.yaml"]


def test_a_push_lands_the_commit_on_the_remote_branch(
    remote: Path, open_workspace: Callable[..., Workspace]
) -> None:
    workspace = open_workspace(remote)
    (workspace.root / "deploy/app.yaml").write_bytes(b"image: flask:develop-v1.9.0\n")
    sha = workspace.commit(["deploy/app.yaml"], "Update flask")
    workspace.push()
    assert remote_sha(remote) == sha == workspace.remote_revision
    assert show(remote, "main:deploy/app.yaml") == "image: flask:develop-v1.9.0\n"


def test_a_stale_push_is_rejected_and_lands_after_refresh(
    remote: Path, open_workspace: Callable[..., Workspace], tmp_path: Path
) -> None:
    workspace = open_workspace(remote)
    (workspace.root / "deploy/app.yaml").write_bytes(b"image: flask:develop-v1.9.0\n")
    workspace.commit(["deploy/app.yaml"], "Update flask")
    theirs = commit_elsewhere(remote, tmp_path, {"README.md": b"theirs\n"})

    with pytest.raises(PushRejected, match="rejected"):
        workspace.push()
    with pytest.raises(PushRejected):
        workspace.push(to_branch="main")  # naming the base branch never forces it either
    assert remote_sha(remote) == theirs

    workspace.refresh()
    assert workspace.head() == theirs == workspace.remote_revision
    assert (workspace.root / "deploy/app.yaml").read_bytes() == MANIFEST
    (workspace.root / "deploy/app.yaml").write_bytes(b"image: flask:develop-v1.9.0\n")
    ours = workspace.commit(["deploy/app.yaml"], "Update flask")
    workspace.push()

    assert remote_sha(remote) == ours
    assert remote_sha(remote, "main^") == theirs, "history stays linear"


def test_a_shallow_clone_pushes_on_top_of_a_long_history(
    remote: Path, open_workspace: Callable[..., Workspace], tmp_path: Path
) -> None:
    for n in range(4):
        commit_elsewhere(remote, tmp_path, {"README.md": f"version {n}\n".encode()})
    first = open_workspace(remote)
    first.close()
    commit_elsewhere(remote, tmp_path, {"README.md": b"after the clone\n"})
    workspace = open_workspace(remote)  # a depth-1 fetch into the depth-1 clone
    assert run_git("-C", str(workspace.root), "rev-list", "--count", "HEAD") == "1\n"
    (workspace.root / "deploy/app.yaml").write_bytes(b"image: flask:develop-v1.9.0\n")
    sha = workspace.commit(["deploy/app.yaml"], "Update flask")

    workspace.push()

    assert remote_sha(remote) == sha
    assert run_git("--git-dir", str(remote), "rev-list", "--count", "main") == "7\n"
    run_git("--git-dir", str(remote), "fsck", "--strict", "--no-dangling")


def test_the_review_branch_is_recreated_from_the_base_on_every_run(
    remote: Path, open_workspace: Callable[..., Workspace], tmp_path: Path
) -> None:
    base = remote_sha(remote)
    workspace = open_workspace(remote)
    (workspace.root / "deploy/app.yaml").write_bytes(b"image: flask:develop-v1.9.0\n")
    first = workspace.commit(["deploy/app.yaml"], "Update flask to develop-v1.9.0")
    workspace.push(to_branch="imagebot/flask")
    assert remote_sha(remote, "imagebot/flask") == first
    assert remote_sha(remote) == base, "the base branch is untouched in review mode"
    assert workspace.remote_revision == base
    workspace.close()
    commit_elsewhere(
        remote, tmp_path, {"review-note.md": b"a reviewer's commit\n"}, "imagebot/flask"
    )
    new_base = commit_elsewhere(remote, tmp_path, {"README.md": b"base moved\n"})

    again = open_workspace(remote)
    (again.root / "deploy/app.yaml").write_bytes(b"image: flask:develop-v2.0.0\n")
    second = again.commit(["deploy/app.yaml"], "Update flask to develop-v2.0.0")
    again.push(to_branch="imagebot/flask")

    assert remote_sha(remote, "imagebot/flask") == second
    assert remote_sha(remote, "imagebot/flask^") == new_base
    assert remote_sha(remote) == new_base
