"""How git gets credentials and safe defaults: through its environment, never its config files.

An HTTPS token reaches git through a credential helper that reads it from the environment
(``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``), so it never lands in ``.git/config``, a remote URL, a
command line or a log, and answers only for the protocol and host of the configured remote.
SSH gets ``GIT_SSH_COMMAND`` with strict host-key checking. Signing
options are ``-c`` flags for the one commit command. Nothing here runs git.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import tempfile
from dataclasses import field
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from imagebot.config import SIGNING_FORMATS, GitSettings
from imagebot.errors import ConfigError
from imagebot.gitrepo.children import owner_environment
from imagebot.records import record
from imagebot.redact import remember

TOKEN_ENV = "IMAGEBOT_GIT_TOKEN"  # noqa: S105 - the name of a variable, not a secret
DEFAULT_TOKEN_USERNAME = "x-access-token"  # noqa: S105 - GitHub's name for token logins; GitLab accepts any
_USER_ENV = "IMAGEBOT_GIT_USERNAME"
_LITERAL_SSH_KEYS = ("key::", "ssh-", "ecdsa-", "sk-")  # git's forms of a key given inline
_PROTOCOL_ENV = "IMAGEBOT_GIT_PROTOCOL"
_HOST_ENV = "IMAGEBOT_GIT_HOST"

# A helper that only answers "get", and only when git asks about the protocol and host of the
# configured remote: a remote that redirects to another host must not receive the token. git's
# "store"/"erase" calls, which would save the token elsewhere, are ignored. The empty helper
# before it drops the user's own helpers for this run.
_HELPER = (
    '!f() { test "$1" = get || return 0; p=; h=; '
    'while IFS= read -r l && test -n "$l"; do case "$l" in '
    'protocol=*) p="${l#protocol=}";; host=*) h="${l#host=}";; esac; done; '
    f'test -n "$p" && test "$p" = "${_PROTOCOL_ENV}" && test "$h" = "${_HOST_ENV}" || return 0; '
    f'echo "username=${{{_USER_ENV}}}"; echo "password=${{{TOKEN_ENV}}}"; }}; f'
)


@record
class RemoteUrl:
    """A remote URL with any ``user:password@`` password taken out (``password`` keeps it)."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def split_password(url: str) -> RemoteUrl:
    """Take a password out of ``scheme://user:password@host/...`` so git never stores it."""
    if "://" not in url:
        return RemoteUrl(url)
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return RemoteUrl(url)
    user, colon, password = userinfo.partition(":")
    if not colon:
        return RemoteUrl(url, unquote(user) or None)
    netloc = f"{user}@{hostport}" if user else hostport
    clean = SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment)
    return RemoteUrl(urlunsplit(clean), unquote(user) or None, unquote(password) or None)


def resolve_token(settings: GitSettings, remote: RemoteUrl | None = None) -> str | None:
    """The HTTPS token: settings, then ``token_file``, then ``$IMAGEBOT_GIT_TOKEN``, then URL."""
    if settings.token:
        return settings.token
    if settings.token_file:
        path = Path(settings.token_file).expanduser()
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError(f"git.tokenFile: cannot read {path}: {error.strerror}") from error
        if not token:
            raise ConfigError(f"git.tokenFile: {path} is empty")
        return token
    return os.environ.get(TOKEN_ENV) or (remote.password if remote else None)


class GitEnvironment:
    """The environment every git command of one workspace runs with, and the files it needs.

    Private copies of key files live in a temporary directory removed by ``close``.
    """

    def __init__(self, settings: GitSettings, remote: RemoteUrl | None) -> None:
        self._tmp: Path | None = None
        self.token = resolve_token(settings, remote)
        self.variables: dict[str, str] = {
            "GIT_TERMINAL_PROMPT": "0",  # fail on a missing credential instead of waiting
            "LC_ALL": "C",  # English messages, which failures.classify reads
            "GIT_LITERAL_PATHSPECS": "1",  # a manifest named ":(glob)*" is a file name, not magic
            "GIT_SSH_COMMAND": self._ssh_command(settings),
            **owner_environment(),  # so that git and its helpers die with imagebot (children.py)
        }
        config = [
            ("gc.autoDetach", "false"),  # no background gc outliving the workspace lock
            ("http.lowSpeedLimit", "1000"),  # give up on a stalled transfer after a minute
            ("http.lowSpeedTime", "60"),
        ]
        bound = _protocol_and_host(remote)
        remember(self.token)
        if self.token and bound is None:
            # In place, the push remote is the work tree's own: git uses the user's credentials.
            self.token = None
        if self.token and bound is not None:
            config += [("credential.helper", ""), ("credential.helper", _HELPER)]
            self.variables[_PROTOCOL_ENV], self.variables[_HOST_ENV] = bound
            url_user = remote.username if remote else None
            username = settings.username or url_user or DEFAULT_TOKEN_USERNAME
            self.variables[_USER_ENV] = username
            self.variables[TOKEN_ENV] = self.token
        self.variables.update(_config_variables(config))
        self.signing_key = settings.signing_key  # as configured, for messages
        self.signing_format = settings.signing_format or "openpgp"
        self.signing_options = self._signing_options(settings)

    def _ssh_command(self, settings: GitSettings) -> str:
        words = ["ssh"]
        if settings.ssh_key_file:
            key = self._private_copy(settings.ssh_key_file, "git.sshKeyFile")
            # Only this key and no ~/.ssh/config: the run behaves the same on every machine.
            words += ["-F", "/dev/null", "-i", str(key), "-o", "IdentitiesOnly=yes"]
        if settings.known_hosts_file:
            known = Path(settings.known_hosts_file).expanduser()
            if not known.is_file():
                raise ConfigError(f"git.knownHostsFile: {known} does not exist")
            words += ["-o", f"UserKnownHostsFile={known}"]
        words += ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]
        words += ["-o", "ConnectTimeout=30"]
        return shlex.join(words)

    def _signing_options(self, settings: GitSettings) -> list[str]:
        """``-c`` values for the commit command; signing off unless configured here."""
        if not settings.signing_key:
            return ["commit.gpgsign=false"]
        kind = self.signing_format
        if kind not in SIGNING_FORMATS:
            raise ConfigError(
                f"git.signingFormat: {kind!r} is not one of {', '.join(SIGNING_FORMATS)}"
            )
        key = settings.signing_key
        if kind == "ssh" and Path(key).expanduser().is_file():
            key = str(self._private_copy(key, "git.signingKey"))
        elif kind == "ssh" and not key.startswith(_LITERAL_SSH_KEYS):
            # Not a key written out (``ssh-ed25519 AAAA...``), so a file: say so before any work.
            raise ConfigError(f"git.signingKey: the SSH key file {key!r} does not exist")
        return [f"gpg.format={kind}", f"user.signingkey={key}", "commit.gpgsign=true"]

    def _private_copy(self, name: str, setting: str) -> Path:
        """The key file, or a 0600 copy of it: ssh refuses keys others can read, and Kubernetes
        mounts Secrets 0644 by default."""
        path = Path(name).expanduser()
        try:
            mode = path.stat().st_mode
        except OSError as error:
            raise ConfigError(f"{setting}: cannot read {path}: {error.strerror}") from error
        if not mode & (stat.S_IRWXG | stat.S_IRWXO):
            return path.resolve()
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="imagebot-keys-"))
        copy = self._tmp / f"key{len(list(self._tmp.iterdir()))}"
        copy.touch(mode=0o600)
        copy.write_bytes(path.read_bytes())
        return copy

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def _protocol_and_host(remote: RemoteUrl | None) -> tuple[str, str] | None:
    """What git's credential protocol calls the remote: ``("https", "host[:port]")``."""
    if remote is None or "://" not in remote.url:
        return None
    parts = urlsplit(remote.url)
    if parts.scheme not in ("http", "https"):
        return None
    return parts.scheme, parts.netloc.rpartition("@")[2]


def _config_variables(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """``GIT_CONFIG_*`` variables for ``pairs``, after any the caller's environment has."""
    try:
        start = int(os.environ.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        start = 0
    out = {"GIT_CONFIG_COUNT": str(start + len(pairs))}
    for index, (key, value) in enumerate(pairs, start):
        out[f"GIT_CONFIG_KEY_{index}"] = key
        out[f"GIT_CONFIG_VALUE_{index}"] = value
    return out
