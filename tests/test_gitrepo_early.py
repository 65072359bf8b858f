"""Opening begun early: the clone runs while the caller goes on, and an abandoned one is undone.

Real bare repositories over file:// and the real git binary, as in test_gitrepo_workspace.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from imagebot.config import GitSettings
from imagebot.errors import ConfigError
from imagebot.gitrepo.early import begin_open

MANIFEST = b"image: flask:develop-v1.8.0\n"

pytestmark = pytest.mark.usefixtures("isolated_git")


@pytest.fixture
def settings(bare_remote: Callable[..., Path]) -> GitSettings:
    return GitSettings(repo=bare_remote({"deploy/app.yaml": MANIFEST}).as_uri())


def test_the_clone_starts_at_once_and_the_workspace_opens_from_it(
    settings: GitSettings, tmp_path: Path
) -> None:
    opening = begin_open(settings, cache_root=tmp_path)
    assert opening.clone is not None  # running already, before anything waits for it
    with opening.finish(settings) as workspace:
        assert (workspace.root / "deploy/app.yaml").read_bytes() == MANIFEST
        assert workspace.remote_revision
    opening.close()  # after finish: nothing left to undo, and no error


def test_a_reusable_cache_is_not_cloned_again(settings: GitSettings, tmp_path: Path) -> None:
    begin_open(settings, cache_root=tmp_path).finish(settings).close()
    opening = begin_open(settings, cache_root=tmp_path)
    try:
        assert opening.clone is None
    finally:
        opening.close()


def test_an_abandoned_opening_leaves_no_partial_clone_and_frees_the_lock(
    settings: GitSettings, tmp_path: Path
) -> None:
    opening = begin_open(settings, cache_root=tmp_path)
    opening.close()
    assert not list(tmp_path.glob("*.partial"))
    again = begin_open(settings, cache_root=tmp_path, lock_timeout=0)  # the lock is free
    again.close()


def test_a_failed_clone_is_reported_when_the_workspace_is_finished(
    settings: GitSettings, tmp_path: Path
) -> None:
    wrong = GitSettings(repo=settings.repo, branch="no-such-branch")
    opening = begin_open(wrong, cache_root=tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        opening.finish(wrong)
    opening.close()
    assert not list(tmp_path.glob("*.partial"))
    begin_open(wrong, cache_root=tmp_path, lock_timeout=0).close()  # the lock was released
