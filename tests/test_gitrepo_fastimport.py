"""A cached clone commits new texts with one ``git fast-import``, exactly as ``git commit`` would.

The commit is checked against what git itself makes of the same edit: the tree of a
``git add``/``git commit`` of the same files, git's own whitespace cleanup (``git stripspace``),
file modes, symlinks and names that need quoting. Real bare repositories over file://.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagebot.gitrepo import Workspace
from imagebot.gitrepo.fastimport import cleanup_message
from imagebot.manifest import paths_in_tree
from imagebot.reconcile.retry import Pacing, Prepared, commit_with_retries
from tests.rig.git import run_git

pytestmark = pytest.mark.usefixtures("isolated_git")

AUTHOR = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t"}
AUTHOR |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
ODD_NAMES = ['deploy/"quoted".yaml', "deploy/back\\slash.yaml", "deploy/ünïcode app.yaml"]


@pytest.fixture
def remote(bare_remote: Callable[..., Path]) -> Path:
    files = {
        "deploy/app.yaml": b"image: flask:1.0\n",
        "deploy/run.sh": b"#!/bin/sh\necho image: flask:1.0\n",
        "README.md": b"demo\n",
        **dict.fromkeys(ODD_NAMES, b"image: odd:1.0\n"),
    }
    path = bare_remote(files)
    # An executable file and a symlink, as a user's repository may hold them.
    clone = path.parent / "seed-work"
    run_git("clone", "--quiet", path.as_uri(), str(clone))
    (clone / "deploy/run.sh").chmod(0o755)
    (clone / "deploy/link.yaml").symlink_to("app.yaml")
    run_git("-C", str(clone), "add", "--all")
    env = {**os.environ, **AUTHOR}
    subprocess.run(["git", "-C", str(clone), "commit", "-qm", "modes"], env=env, check=True)
    run_git("-C", str(clone), "push", "--quiet", "origin", "main")
    return path


def tree_of(root: Path, rev: str = "HEAD") -> str:
    return run_git("-C", str(root), "ls-tree", "-r", "--full-tree", rev)


def test_the_imported_commit_has_the_tree_git_commit_would_make(
    remote: Path, open_workspace: Callable[..., Workspace], tmp_path: Path
) -> None:
    workspace = open_workspace(remote, author_name="Image Bot", author_email="bot@example.org")
    assert workspace.commits_without_work_tree
    texts = {
        "deploy/link.yaml": "image: flask:2.0\n",  # through the symlink, to app.yaml
        "deploy/run.sh": "#!/bin/sh\necho image: flask:2.0\n",
        **dict.fromkeys(ODD_NAMES, "image: odd:2.0\n"),
    }
    parent = workspace.head()

    sha = workspace.commit_texts(paths_in_tree(workspace.root, texts), "Update flask\n\nbody  \n")

    assert sha is not None and sha == workspace.head()
    assert run_git("-C", str(workspace.root), "rev-parse", f"{sha}^") == parent + "\n"
    # The same edit made the ordinary way, in a clone of its own.
    other = tmp_path / "by-hand"
    run_git("clone", "--quiet", remote.as_uri(), str(other))
    for name, text in texts.items():
        (other / name).write_text(text)  # follows the symlink, as write_files does
    run_git("-C", str(other), "add", "--all")
    env = {**os.environ, **AUTHOR}
    subprocess.run(["git", "-C", str(other), "commit", "-qm", "x"], env=env, check=True)
    assert tree_of(workspace.root, sha) == tree_of(other)
    assert "120000 blob" in tree_of(workspace.root, sha)  # the link is still a link
    assert "100755 blob" in tree_of(workspace.root, sha)  # and the script still executable
    log = run_git("-C", str(workspace.root), "log", "-1", "--format=%an <%ae>|%cn <%ce>|%B", sha)
    assert log == "Image Bot <bot@example.org>|Image Bot <bot@example.org>|Update flask\n\nbody\n\n"
    run_git("-C", str(workspace.root), "fsck", "--no-progress")


def test_an_imported_commit_pushes_and_the_next_refresh_resets_the_work_tree(
    remote: Path, open_workspace: Callable[..., Workspace]
) -> None:
    workspace = open_workspace(remote)
    sha = workspace.commit_texts({"deploy/app.yaml": "image: flask:3.0\n"}, "Update flask")
    workspace.push()
    assert run_git("--git-dir", str(remote), "rev-parse", "main").strip() == sha
    # The work tree still has the old text: nobody reads it before the next fetch resets it.
    assert (workspace.root / "deploy/app.yaml").read_text() == "image: flask:1.0\n"
    workspace.refresh()
    assert (workspace.root / "deploy/app.yaml").read_text() == "image: flask:3.0\n"
    status = run_git("-C", str(workspace.root), "status", "--porcelain")
    assert status == ""


def test_nothing_to_commit_and_an_empty_message_make_no_commit(
    remote: Path, open_workspace: Callable[..., Workspace]
) -> None:
    workspace = open_workspace(remote)
    before = workspace.head()
    assert workspace.commit_texts({}, "Update") is None
    assert workspace.commit_texts({"deploy/app.yaml": "image: flask:4.0\n"}, " \n\n ") is None
    assert workspace.head() == before


def test_a_signed_commit_or_a_fixed_date_takes_the_ordinary_way(
    remote: Path, open_workspace: Callable[..., Workspace], monkeypatch: pytest.MonkeyPatch
) -> None:
    signed = open_workspace(remote, signing_key="ABCDEF")
    assert not signed.commits_without_work_tree
    signed.close()  # one workspace per cache at a time
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
    assert not open_workspace(remote).commits_without_work_tree


def test_a_work_tree_used_in_place_is_written_and_committed_as_before(
    remote: Path, tmp_path: Path
) -> None:
    from imagebot.config import GitSettings

    clone = tmp_path / "mine"
    run_git("clone", "--quiet", remote.as_uri(), str(clone))
    with Workspace.open(GitSettings(repo=str(clone))) as workspace:
        assert not workspace.commits_without_work_tree
        prepared = Prepared(None, {"deploy/app.yaml": ("", "image: flask:5.0\n")}, lambda: "Up")
        pacing = Pacing(1, lambda _: None, lambda: 0.0)
        done = commit_with_retries(
            workspace, prepared, lambda: prepared, write=True, push=False, push_branch=None,
            pacing=pacing,
        )  # fmt: skip
    assert done.commit is not None
    assert (clone / "deploy/app.yaml").read_text() == "image: flask:5.0\n"
    assert run_git("-C", str(clone), "status", "--porcelain") == ""


def test_a_path_leading_out_of_the_tree_is_refused(tmp_path: Path) -> None:
    from imagebot.errors import ManifestError

    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "out.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    with pytest.raises(ManifestError, match="leads outside the tree"):
        paths_in_tree(tmp_path / "tree", {"out.yaml": "x"})


_LINES = st.lists(
    st.text(
        alphabet=st.sampled_from(["a", " ", "\t", "\r", "\v", "\f", "\xa0", "\u2003", "#", "é"]),
        max_size=6,
    ),
    max_size=8,
)


@pytest.mark.rig
@settings(max_examples=200, deadline=None)
@given(_LINES)
def test_message_cleanup_is_gits_own(lines: list[str]) -> None:
    message = "\n".join(lines)
    git = subprocess.run(
        ["git", "stripspace"], input=message.encode(), capture_output=True, check=True
    )
    assert cleanup_message(message).encode() == git.stdout
