"""Whether an Argo CD Application's ``repoURL`` is the repository imagebot works on.

Git URLs name one repository in many spellings: ``https://host/org/app.git``,
``https://user@host/org/app/``, ``ssh://git@host:22/org/app``, ``git@host:org/app``. Each is
reduced to ``host/path`` (host in lower case, no user, port, scheme, ``.git`` or trailing
slash; the path keeps its case), and a local path to its absolute form. Pure: the URLs of the
repository itself come from the Git edge.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

_SCP = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")


def normalise(url: str) -> str:
    """The one spelling of a Git URL used to compare two of them."""
    text = url.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme == "file":
            return _local(parts.path)
        host = (parts.hostname or "").lower()
        return host + "/" + _path(parts.path)
    scp = _SCP.match(text)
    if scp is not None and not text.startswith(("/", ".")):
        return scp["host"].lower() + "/" + _path(scp["path"])
    return _local(text)


def _path(path: str) -> str:
    path = path.strip("/")
    path = path.removesuffix(".git").rstrip("/")
    return path


def _local(path: str) -> str:
    return "file:" + posixpath.normpath(path.rstrip("/")).removesuffix(".git")


def same_repository(url: str, ours: Iterable[str]) -> bool:
    """Whether ``url`` names one of ``ours`` (the repository's own URLs)."""
    wanted = normalise(url)
    return any(normalise(own) == wanted for own in ours)
