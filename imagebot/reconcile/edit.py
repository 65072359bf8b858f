"""Change files in a repository on a user's behalf: one commit with their message, pushed.

The shared use case behind automate, lock, policy and release: open (or reuse) the workspace,
let the command compute new texts from the files as they are now, commit them as one commit and
push with the same bounded retry as ``imagebot run``, computing the edit again from the fresh
files after a rejected push. Returns a result; prints nothing, asks no registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field
from pathlib import Path

from imagebot.config import Settings
from imagebot.manifest import unified_diff
from imagebot.model import CommitSha, Problem
from imagebot.reconcile.retry import Prepared, commit_as_configured
from imagebot.reconcile.run import Edges
from imagebot.records import record


@record
class Edit:
    """What a command wants, computed from the files as they are now.

    ``texts`` maps each file to change to ``(old, new)``; ``notes`` say what needed no change
    (``deployment/web is already automated``); ``matched`` is False when the request named
    nothing that exists or may be changed, which the CLI turns into exit code 1.
    """

    texts: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    message: str = ""
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    matched: bool = True


@record
class EditResult:
    edit: Edit
    diff: str = ""
    commit: CommitSha | None = None
    pushed: bool = False
    branch: str | None = None
    push_attempts: int = 0


Compute = Callable[[Path, Settings], Edit]


def edit_repository(
    settings: Settings,
    compute: Compute,
    *,
    edges: Edges | None = None,
    configure: Callable[[Path], Settings] | None = None,
) -> EditResult:
    """Run ``compute`` on the checked-out tree and commit and push what it returns.

    ``compute`` must read the files itself each time it is called: after a rejected push it is
    called again on the new remote head. ``settings.dry_run`` computes only; ``settings.push``
    False commits without pushing. Raises PushRejected when every attempt was rejected.
    """
    edges = edges or Edges()
    workspace = edges.open_workspace(settings.git)
    try:
        workspace.check_out()  # ``compute`` reads and writes the work tree
        if configure is not None:
            settings = configure(workspace.root)
            # As in ``reconcile``: the repository's own imagebot.yaml may name the author.
            workspace.use_author(settings.git.author_name, settings.git.author_email)

        def prepare() -> Prepared[Edit]:
            edit = compute(workspace.root, settings)
            return Prepared(edit, edit.texts, lambda: edit.message)

        committed = commit_as_configured(
            workspace, prepare(), prepare, settings, sleep=edges.sleep, jitter=edges.jitter
        )
        edit = committed.prepared.value
        return EditResult(
            edit=edit,
            diff="".join(unified_diff(path, old, new) for path, (old, new) in edit.texts.items()),
            commit=committed.commit,
            pushed=committed.pushed,
            branch=settings.git.push_branch or workspace.branch,
            push_attempts=committed.attempts,
        )
    finally:
        workspace.close()
