"""The URLs of the repository a work tree belongs to, for Argo CD Applications to be matched to it.

The remote the checked-out branch tracks, else ``origin``: the remote imagebot pushes to. A tree
that is no Git repository, or has neither, has no URL, and its Applications are left alone.
GitPython is loaded only when this is asked, which is only when an Application is found.
"""

from __future__ import annotations

from pathlib import Path


def remote_urls(root: Path) -> tuple[str, ...]:
    """Every URL of the remote ``root`` pushes to; () when there is none."""
    from git import Repo  # loaded only for a tree with Applications
    from git.exc import InvalidGitRepositoryError, NoSuchPathError

    try:
        repo = Repo(root, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError):
        return ()
    with repo:
        names = [remote.name for remote in repo.remotes]
        tracked = None
        try:
            tracking = repo.active_branch.tracking_branch()
            tracked = tracking.remote_name if tracking is not None else None
        except (TypeError, ValueError):  # a detached HEAD, or a branch whose remote is gone
            tracked = None
        name = tracked if tracked in names else "origin" if "origin" in names else None
        if name is None:
            return ()
        return tuple(repo.remote(name).urls)
