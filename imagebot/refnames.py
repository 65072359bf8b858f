"""Git's rules for branch names, as a pure function, and a sanitiser for templated names.

``branch_problem`` answers what ``git check-ref-format --branch NAME`` answers (the hypothesis
test in tests/test_refnames.py holds it to the real command), so a bad configured name fails as a
config error before any clone, instead of as a git failure half-way through a run (``../../x``)
or a branch git happily creates but nobody wants (``HEAD``). One deliberate difference: ``@``
alone is refused, because inside a repository git reads it as ``HEAD``.

``sanitize_branch`` turns the text a push-branch template rendered into a valid name, or ``""``
when nothing usable is left. Nothing here runs git.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

from imagebot.errors import ConfigError

__all__ = ["MAX_BRANCH_LENGTH", "branch_problem", "check_branch", "sanitize_branch"]

MAX_BRANCH_LENGTH = 200

# Characters no ref name may hold: ASCII controls, space, DEL, and ~ ^ : ? * [ \ (git's
# refname_disposition table; ``*`` is allowed only in refspec patterns, never in a branch).
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_RESERVED = {"HEAD": "HEAD names the checked-out commit", "@": "'@' is git's short name for HEAD"}


def branch_problem(name: str) -> str | None:
    """Why git would refuse ``name`` as a branch name, or None when it is valid."""
    return next(_problems(name), None)


def _problems(name: str) -> Iterator[str]:
    """Every rule ``name`` breaks, the most telling first."""
    if not name:
        yield "it is empty"
    if name in _RESERVED:
        yield _RESERVED[name]
    if name.startswith("-"):
        yield "it starts with '-', which git would read as an option"
    bad = _FORBIDDEN.search(name)
    if bad:
        yield f"it contains {bad.group()!r}"
    for needle, what in (("@{", "'@{'"), ("..", "'..'"), ("//", "an empty path component")):
        if needle in name:
            yield f"it contains {what}"
    if name.startswith("/") or name.endswith("/"):
        yield "it starts or ends with '/'"
    if name.endswith("."):
        yield "it ends with '.'"
    for part in name.split("/"):
        if part.startswith("."):
            yield f"its component {part!r} starts with '.'"
        if part.endswith(".lock"):
            yield f"its component {part!r} ends with '.lock'"


def check_branch(name: str, *, setting: str) -> str:
    """``name`` when it is a valid branch name; else a ``ConfigError`` naming ``setting``."""
    problem = branch_problem(name)
    if problem is not None:
        raise ConfigError(f"{setting}: {name!r} is not a valid Git branch name: {problem}")
    return name


def sanitize_branch(text: str) -> str:
    """Turn ``text`` into a name ``branch_problem`` accepts, or ``""`` when none is left.

    Forbidden characters and ``@{`` become ``-``, runs of dots one dot, leading dots and
    trailing dots and ``.lock`` of each component go, empty components go; names past
    ``MAX_BRANCH_LENGTH`` are cut and end in a hash of the full name, so that different change
    sets still get different branches. ``HEAD`` and ``@`` give ``""``: no character fix makes
    them mean a branch.
    """
    name = re.sub(r"(?:[\x00-\x20\x7f~^:?*\[\\]|@\{)+", "-", text)
    components = []
    for raw in name.split("/"):
        part = re.sub(r"\.{2,}", ".", raw).lstrip(".")
        while part.endswith((".", ".lock")):
            part = part.removesuffix(".lock").rstrip(".")
        if part:
            components.append(part)
    name = "/".join(components).lstrip("-/.")
    if len(name) > MAX_BRANCH_LENGTH:
        digest = hashlib.sha256(name.encode()).hexdigest()[:10]
        head = name[: MAX_BRANCH_LENGTH - 11].rstrip("./-")
        name = f"{head}-{digest}"
    return "" if name in _RESERVED else name
