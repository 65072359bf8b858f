"""The one place where Git's failures become imagebot errors, with secrets taken out.

``classify`` reads what git printed and picks ``GitAuthError`` (credentials, host keys),
``ConfigError`` (no such repository or branch) or ``GitError`` (the rest, worth retrying).
Every detail passes through a ``Redactor`` (``imagebot.redact``, the one redactor) before it
reaches a message or a log. Push rejections are read from push results in ``workspace.py``,
not from text.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from imagebot.errors import ConfigError, GitAuthError, GitError, ImagebotError, PushRejected
from imagebot.redact import Redactor

if TYPE_CHECKING:
    from git.exc import GitCommandError

__all__ = ["LOST_RACE", "Redactor", "classify", "lost_race", "signing_failed"]

_HINT_LINE = re.compile(r"^(?:fatal|error|ERROR|remote|ssh|[\w.-]+@[\w.-]+):|denied|failed", re.I)

# git's words for a lock file that exists: a live git holds it, or a killed one left it. In
# imagebot's own cache clone such files are removed before any git runs (checkout._reusable),
# so this is met in a user's work tree, which imagebot never cleans: the user decides.
_LOCKED = re.compile(r"Unable to create '([^']+\.lock)': File exists")

# (what git or ssh prints, what it means to the user); the first match wins.
_AUTH = (
    (
        "Host key verification failed",
        "host key verification failed: the server's key is not in the known_hosts file "
        "(check its fingerprint, then add it with ssh-keyscan)",
    ),
    (
        "REMOTE HOST IDENTIFICATION HAS CHANGED",
        "host key verification failed: the server's key differs from the known_hosts entry",
    ),
    ("Permission denied (publickey", "the SSH server refused the key"),
    ("Authentication failed", "the server refused the credentials"),
    ("returned error: 401", "the server refused the credentials (HTTP 401)"),
    ("returned error: 403", "the server denied access (HTTP 403)"),
    (
        "could not read Username",
        "the server wants credentials and none were given "
        "(set IMAGEBOT_GIT_TOKEN, git.tokenFile or an SSH key)",
    ),
    ("could not read Password", "the server wants a password or token and none was given"),
)
_NOT_FOUND = (
    "Repository not found",
    "does not appear to be a git repository",
    "not found in upstream",
    "couldn't find remote ref",
    "returned error: 404",
    "' not found",  # smart HTTP: fatal: repository 'URL' not found
)


# What a push says when another writer got there first: the branch moved (rejected,
# non-fast-forward) or moved while this push was landing (the remote could not lock the ref at
# the value it expected). Either way, the fix is the same: fetch, redo, push again.
LOST_RACE = (
    "[rejected]",
    "non-fast-forward",
    "fetch first",
    "stale info",
    "cannot lock ref",
    "failed to update ref",
    "incorrect old value",
)


def lost_race(text: str) -> bool:
    return any(needle in text for needle in LOST_RACE)


# What ``git commit`` prints when the signing key or its program is missing: gpg/gpgsm with no
# such secret key, ssh-keygen with no such key file, or the program itself not installed.
# Retrying cannot help, so the workspace turns these into a ConfigError naming git.signingKey.
_SIGNING = (
    "failed to sign the data",
    "couldn't load public key",
    "cannot run gpg",
    "cannot run gpgsm",
    "cannot run ssh-keygen",
    "signing failed",
)


def signing_failed(text: str) -> bool:
    lowered = text.lower()
    return any(needle in lowered for needle in _SIGNING)


def classify(error: GitCommandError, *, action: str, redact: Redactor) -> ImagebotError:
    """The imagebot error for a failed git command; the caller raises it ``from error``."""
    output = _text(error.stderr) + "\n" + _text(error.stdout)
    detail = redact(_gist(output) or f"git exited with status {error.status}")
    held = _LOCKED.search(output)
    if held:
        return GitError(
            f"{action} failed: {held.group(1)} exists: another git process is using this "
            "repository, or one was killed; if no git runs there, remove that file and run again"
        )
    if action.startswith("push") and lost_race(output):
        return PushRejected(f"{action} was rejected, the branch moved on: {detail}")
    for needle, meaning in _AUTH:
        if needle.lower() in output.lower():
            return GitAuthError(f"{action} failed: {meaning}. git said: {detail}")
    if any(needle.lower() in output.lower() for needle in _NOT_FOUND):
        return ConfigError(
            f"{action} failed: the repository or branch does not exist, or the credentials may "
            f"not see it. git said: {detail}"
        )
    return GitError(f"{action} failed: {detail}")


def _text(stream: object) -> str:
    """Git's own output from GitPython's ``"\n  stderr: '...'"`` wrapping of it."""
    if isinstance(stream, bytes):
        stream = stream.decode("utf-8", "replace")
    if not isinstance(stream, str):
        return ""
    for label in ("stderr", "stdout"):
        prefix = f"\n  {label}: '"
        if stream.startswith(prefix) and stream.endswith("'"):
            return stream[len(prefix) : -1]
    return stream


def _gist(output: str) -> str:
    """The lines that say what went wrong, without progress noise; at most three."""
    lines = [line.strip() for line in output.replace("\r", "\n").splitlines()]
    lines = [line for line in lines if line]
    telling = [line for line in lines if _HINT_LINE.search(line)] or lines
    return " | ".join(telling[-3:])
