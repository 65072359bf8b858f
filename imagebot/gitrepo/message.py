"""Commit messages and push-branch names made from a run's changes.

Pure functions: the default message (``Update flask to develop-v1.9.0`` and one body line per
change), user templates in the small language of ``template.py``, and branch names sanitised to
valid Git ref names; every message passes the one redactor. No Git is run here; the workspace
only receives the resulting strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from imagebot.config import GitSettings
from imagebot.errors import ConfigError
from imagebot.model import Change, TargetKind
from imagebot.redact import redact
from imagebot.refnames import check_branch, sanitize_branch

if TYPE_CHECKING:
    from imagebot.gitrepo.template import Piece

SKIP_CI = "[ci skip]"
# A message lists at most this many changes (or, from a template, this many lines) and then says
# how many more there were: a 1,000-image run stays a commit a person can read.
MAX_BODY_CHANGES = 100
MAX_MESSAGE_LINES = 200
_SKIP_MARKERS = ("[ci skip]", "[skip ci]")

CHANGE_FIELDS = frozenset(
    {
        "file",  # manifest path relative to the repository root
        "line",  # 1-based line of the image value
        "name",  # container name, or the image's last path component
        "workload",
        "container",  # empty for values outside a container list
        "image",  # repository name as written, without tag or digest
        "old",  # the whole old value
        "new",  # the whole new value
        "version",  # new tag, else the new digest
        "tag",
        "digest",
        "policy",
        "reason",
        "kind",
    }
)
MESSAGE_FIELDS = frozenset({"subject", "body", "changes", "count", "images", "skip_ci"})


def check_template(text: str, *, what: str = "commit message template") -> None:
    """Raise ``ConfigError`` now for a template that could never render (for config loading)."""
    _parse(text, what)


def _parse(text: str, what: str) -> tuple[Piece, ...]:
    """The template language loads with the first template: most runs configure none."""
    from imagebot.gitrepo import template as tpl

    vocabulary = tpl.Vocabulary(scalars=MESSAGE_FIELDS, sections={"changes": CHANGE_FIELDS})
    return tpl.parse(text, vocabulary, what=what)


def is_template(text: str) -> bool:
    """A push branch with braces is a template over the changes; without, a plain name."""
    return "{" in text


def check_git_templates(git: GitSettings) -> None:
    """Refuse a branch name git would refuse, or a message or push-branch template that could
    never render, before any work (``--push-branch ../../x`` is a config error, exit 2)."""
    check_git_names(git)
    if git.message_template:
        check_template(git.message_template)
    if git.push_branch and is_template(git.push_branch):
        check_template(git.push_branch, what="push branch template")


def check_git_names(git: GitSettings) -> None:
    """``ConfigError`` for a ``git.branch`` or plain ``git.pushBranch`` that is no branch name.

    A templated push branch is checked once rendered (``render_branch``).
    """
    if git.branch is not None:
        check_branch(git.branch, setting="git.branch")
    if git.push_branch is not None and not is_template(git.push_branch):
        check_branch(git.push_branch, setting="git.pushBranch")


def render_message(changes: Sequence[Change], *, template: str | None, skip_ci: bool) -> str:
    """The commit message for ``changes``: the default, or ``template`` filled in.

    With ``skip_ci`` the subject carries ``[ci skip]`` unless the template already placed it.
    """
    if template is None:
        subject = default_subject(changes)
        text = f"{subject} {SKIP_CI}" if skip_ci else subject
        body = _body(changes)
        return redact(f"{text}\n\n{body}\n" if body else f"{text}\n")
    text = _render(template, changes, skip_ci=skip_ci, what="commit message template")
    lines = [line.rstrip() for line in text.strip().splitlines()]
    if not lines or not lines[0]:
        raise ConfigError("commit message template: it produced an empty subject line")
    if len(lines) > MAX_MESSAGE_LINES:
        more = len(lines) - MAX_MESSAGE_LINES
        lines = [*lines[:MAX_MESSAGE_LINES], f"... and {more} more lines"]
    if skip_ci and not any(marker in text for marker in _SKIP_MARKERS):
        lines[0] = f"{lines[0]} {SKIP_CI}"
    return redact("\n".join(lines) + "\n")  # a commit is public for good: no secret in it


def render_branch(template: str, changes: Sequence[Change]) -> str:
    """A push-branch name from ``template``, made a valid Git branch name.

    The rendered text is sanitised (``refnames.sanitize_branch``: forbidden characters become
    ``-``, long names end in a hash); a text with no branch left in it (empty, ``HEAD``) is
    refused with a ``ConfigError``.
    """
    text = _render(template, changes, skip_ci=False, what="push branch template")
    name = sanitize_branch(text)
    if not name:
        raise ConfigError(
            f"push branch template: {template!r} gave {text!r}, which holds no usable branch name"
        )
    return check_branch(name, setting="push branch template")


def default_subject(changes: Sequence[Change]) -> str:
    """``Update flask to develop-v1.9.0`` for one image and version, ``Update 3 images`` else.

    Images are told apart by repository, not by container name: many workloads name their
    container ``app``, and 100 repositories updated must not read as one.
    """
    updates = {(change.target.image.name, version(change)): change for change in changes}
    if len(updates) == 1:
        (change,) = updates.values()
        return f"Update {display_name(change)} to {version(change)}"
    return f"Update {len(updates)} images"


def display_name(change: Change) -> str:
    """What people call the image: the container's name, else the last path component."""
    target = change.target
    if target.kind is TargetKind.CONTAINER and target.container:
        return target.container
    return target.image.repository.rsplit("/", 1)[-1]


def version(change: Change) -> str:
    if change.new_tag:
        return change.new_tag
    if change.new_digest:
        return change.new_digest[:19]  # "sha256:" and 12 hex digits, as `docker images` shows
    return change.new


def _body(changes: Sequence[Change]) -> str:
    """One line per change, the first ``MAX_BODY_CHANGES`` of them, then how many more."""
    lines = []
    for change in changes[:MAX_BODY_CHANGES]:
        why = change.target.policy.text if change.target.policy else change.reason
        suffix = f"  ({why})" if why else ""
        lines.append(f"{change.target.location}  {change.old} -> {change.new}{suffix}")
    if len(changes) > MAX_BODY_CHANGES:
        lines.append(f"... and {len(changes) - MAX_BODY_CHANGES} more changes")
    return "\n".join(lines)


def _render(text: str, changes: Sequence[Change], *, skip_ci: bool, what: str) -> str:
    from imagebot.gitrepo import template as tpl

    nodes = _parse(text, what)
    body = _body(changes)
    scalars = {
        "subject": default_subject(changes),
        "body": body,
        "changes": body,
        "count": str(len(changes)),
        "images": ", ".join(sorted({f"{display_name(c)}:{version(c)}" for c in changes})),
        "skip_ci": SKIP_CI if skip_ci else "",
    }
    return tpl.render(nodes, scalars, {"changes": [_fields(c) for c in changes]})


def _fields(change: Change) -> Mapping[str, str]:
    target = change.target
    return {
        "file": target.location.file,
        "line": str(target.location.line),
        "name": display_name(change),
        "workload": str(target.workload),
        "container": target.container or "",
        "image": target.image.written_name or target.image.familiar_name,
        "old": change.old,
        "new": change.new,
        "version": version(change),
        "tag": change.new_tag or "",
        "digest": change.new_digest or "",
        "policy": target.policy.text if target.policy else "",
        "reason": change.reason,
        "kind": str(target.kind),
    }
