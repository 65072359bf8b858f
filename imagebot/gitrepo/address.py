"""Where a repository lives: is ``git.repo`` a URL to clone or a work tree to use in place, and
which cache directory holds the clone of a URL and branch.

Decisions from names and the file system only; nothing here runs git. (A file and line in a
manifest is ``model.Location``, an unrelated thing.)
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from imagebot.config import GitSettings
from imagebot.errors import ConfigError
from imagebot.records import record

_SCP_LIKE = re.compile(r"(?:[^@/\s]+@)?[^/:\s]+:[^\s]+")
_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@record
class CloneUrl:
    """A repository to clone shallow into the cache and reset there on every use."""

    url: str


@record
class WorkTree:
    """A directory inside a work tree, used in place: never reset or cleaned."""

    path: Path


RepoAddress = CloneUrl | WorkTree


def parse_repo(repo: str) -> RepoAddress:
    """Read ``git.repo``: a URL (``file://``, ``https://``, ``ssh://``, ``git@host:org/r.git``),
    a bare repository on disk (cloned like a URL) or a directory inside a work tree."""
    if "://" in repo:
        return CloneUrl(repo)
    path = Path(repo).expanduser()
    if not path.exists():
        if _SCP_LIKE.fullmatch(repo):
            return CloneUrl(repo)
        raise ConfigError(f"git.repo: {repo!r} is neither a Git URL nor an existing directory")
    if not path.is_dir():
        raise ConfigError(f"git.repo: {repo!r} is a file, not a repository directory")
    if _is_bare(path):
        # As a file:// URL so that git honours --depth (plain paths clone by hard links).
        return CloneUrl(path.resolve().as_uri())
    return WorkTree(path)


@record
class SshEndpoint:
    """Where an SSH URL connects: what ``ssh-keyscan`` asks and ``known_hosts`` must name."""

    host: str
    port: int = 22

    @property
    def keyscan(self) -> str:
        """The command that writes this host's keys to ``known_hosts``."""
        port = f"-p {self.port} " if self.port != 22 else ""
        return f"ssh-keyscan {port}{self.host} > known_hosts"

    @property
    def known_hosts_name(self) -> str:
        """How ``known_hosts`` names this host (``[host]:port`` off port 22)."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"


def ssh_endpoint(url: str) -> SshEndpoint | None:
    """The host and port of an ``ssh://`` or scp-like (``git@host:org/repo``) URL; None for any
    other URL. Names only: nothing is looked up."""
    if url.startswith(("ssh://", "git+ssh://", "ssh+git://")):
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        try:
            port = parts.port or 22
        except ValueError:
            raise ConfigError(f"{url!r}: the port is not a number") from None
        if not parts.hostname:
            raise ConfigError(f"{url!r}: no host")
        return SshEndpoint(parts.hostname, port)
    if "://" in url or not _SCP_LIKE.fullmatch(url):
        return None
    host = url.split(":", 1)[0].rpartition("@")[2]
    return SshEndpoint(host.strip("[]"))


def is_ssh_url(url: str) -> bool:
    """Whether git reaches ``url`` over SSH (and so needs a key and known hosts)."""
    try:
        return ssh_endpoint(url) is not None
    except ConfigError:
        return True


def cache_root(settings: GitSettings, override: Path | None = None) -> Path:
    """``override``, else ``git.cacheDir``, else ``$XDG_CACHE_HOME/imagebot/git``."""
    if override is not None:
        return override
    if settings.cache_dir:
        return Path(settings.cache_dir).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "imagebot" / "git"


def cache_dir(root: Path, url: str, branch: str | None) -> Path:
    """One directory per URL and branch: readable name first, a hash of both after it."""
    key = hashlib.sha256(f"{url}\n{branch or ''}".encode()).hexdigest()[:16]
    name = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git")
    slug = _SLUG_UNSAFE.sub("-", name).strip(".-")[:40] or "repo"
    return root / f"{slug}-{key}"


def _is_bare(path: Path) -> bool:
    return (
        not (path / ".git").exists()
        and (path / "HEAD").is_file()
        and (path / "objects").is_dir()
        and (path / "refs").is_dir()
    )
