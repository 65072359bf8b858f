"""Git edge: a workspace to clone or reuse, commit to and push from, and commit messages.

Importing this package does not load GitPython: ``Workspace.open`` does, once a clone it needs is
under way. See docs/git.md for credentials, signing and crash safety.
"""

from __future__ import annotations

from imagebot.gitrepo.message import (
    check_git_templates,
    check_template,
    is_template,
    render_branch,
    render_message,
)
from imagebot.gitrepo.workspace import Workspace

__all__ = [
    "Workspace",
    "check_git_templates",
    "check_template",
    "is_template",
    "render_branch",
    "render_message",
]
