"""Git edge: a workspace to clone or reuse, commit to and push from, and commit messages.

``Workspace`` (GitPython) is imported on first use, so that code needing only the pure message
functions does not pay for GitPython. See docs/git.md for credentials, signing and crash safety.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagebot.gitrepo.message import (
    check_git_templates,
    check_template,
    is_template,
    render_branch,
    render_message,
)

if TYPE_CHECKING:
    from imagebot.gitrepo.workspace import Workspace

__all__ = [
    "Workspace",
    "check_git_templates",
    "check_template",
    "is_template",
    "render_branch",
    "render_message",
]


def __getattr__(name: str) -> object:
    if name == "Workspace":
        from imagebot.gitrepo.workspace import Workspace

        return Workspace
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
