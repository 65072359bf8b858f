"""Git remotes for tests, in one import: bare repos, smart HTTP and SSH.

The pieces live in bare.py, githttp.py and gitssh.py; this module only gathers them so tests and
fixtures can `from tests.rig.git import ...`.
"""

from __future__ import annotations

from tests.rig.bare import git_env, make_bare_repo, run_git
from tests.rig.githttp import GitHttpServer, start_git_http_server
from tests.rig.gitssh import SshGitServer, start_ssh_git_server

__all__ = [
    "GitHttpServer",
    "SshGitServer",
    "git_env",
    "make_bare_repo",
    "run_git",
    "start_git_http_server",
    "start_ssh_git_server",
]
