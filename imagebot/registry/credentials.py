"""Registry credentials: settings, docker ``config.json``, credential helpers, Kubernetes secrets.

Looks credentials up per registry host in this order: the host's entry in ``RegistrySettings``,
then a docker config (``credHelpers``, ``auths`` with ``auth``/``identitytoken``/``username``,
then ``credsStore``). Secrets never reach a repr, a log line or an error message. This module
does not talk to registries; ``auth`` uses what it finds.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path

from imagebot.config import RegistrySettings
from imagebot.errors import ConfigError
from imagebot.records import record
from imagebot.redact import remember
from imagebot.refs import normalize_registry
from imagebot.registry.endpoints import host_settings

log = logging.getLogger(__name__)

HELPER_TIMEOUT_SECONDS = 20.0


@record
class Credentials:
    """What to present to one registry. ``identity_token`` is an OAuth2 refresh token (docker
    login to Azure/ECR-style registries); ``registry_token`` is sent as a ready Bearer token."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    identity_token: str | None = field(default=None, repr=False)
    registry_token: str | None = field(default=None, repr=False)

    @property
    def basic(self) -> tuple[str, str] | None:
        if self.username is not None and self.password is not None:
            return (self.username, self.password)
        return None


def _host_key(key: str) -> str:
    """``https://index.docker.io/v1/`` -> ``docker.io``; ``host:5000`` stays."""
    text = key.strip()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    return normalize_registry(text.split("/", 1)[0])


def _from_auths_entry(entry: object) -> Credentials | None:
    if not isinstance(entry, Mapping):
        return None
    identity = entry.get("identitytoken")
    username, password = entry.get("username"), entry.get("password")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            username, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            log.warning("docker config: an 'auth' entry is not base64 of user:password; ignored")
            return None
    if isinstance(identity, str) and identity:
        return Credentials(
            username=username if isinstance(username, str) else None, identity_token=identity
        )
    if isinstance(username, str) and isinstance(password, str):
        return Credentials(username=username, password=password)
    return None


class DockerConfig:
    """A parsed docker ``config.json`` (or a ``kubernetes.io/dockerconfigjson`` secret's data)."""

    def __init__(self, data: Mapping[str, object]) -> None:
        auths = data.get("auths")
        self._auths: dict[str, object] = {}
        if isinstance(auths, Mapping):
            for key, entry in auths.items():
                self._auths[_host_key(str(key))] = entry
        helpers = data.get("credHelpers")
        self._helpers: dict[str, str] = {}
        if isinstance(helpers, Mapping):
            for key, helper in helpers.items():
                if isinstance(helper, str):
                    self._helpers[_host_key(str(key))] = helper
        store = data.get("credsStore")
        self._store = store if isinstance(store, str) and store else None

    @classmethod
    def from_json(cls, text: str | bytes, source: str) -> DockerConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{source}: not valid JSON ({error.msg} at {error.pos})") from None
        except ValueError:
            raise ConfigError(f"{source}: not valid JSON (not UTF-8 text)") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a JSON object with 'auths'")
        return cls(data)

    @classmethod
    def from_secret(cls, data: Mapping[str, object] | str | bytes) -> DockerConfig:
        """From a ``kubernetes.io/dockerconfigjson`` secret: its decoded ``.dockerconfigjson``
        value as text or dict, or the secret's (decoded) data mapping holding that key."""
        if isinstance(data, str | bytes):
            return cls.from_json(data, "dockerconfigjson secret")
        inner = data.get(".dockerconfigjson")
        if isinstance(inner, str | bytes):
            return cls.from_json(inner, "dockerconfigjson secret")
        if isinstance(inner, Mapping):
            return cls(inner)
        return cls(data)

    @classmethod
    def load(cls, path: Path) -> DockerConfig:
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            return cls({})
        except OSError as error:
            raise ConfigError(f"cannot read docker config {path}: {error.strerror}") from None
        return cls.from_json(text, str(path))

    def logins(self) -> dict[str, Credentials]:
        """The credentials its ``auths`` hold, per host; helpers are not run (a Secret's
        ``credHelpers`` would name programs of the operator's image, not the Secret's owner's)."""
        found = {host: _from_auths_entry(entry) for host, entry in self._auths.items()}
        return {host: login for host, login in found.items() if login is not None}

    def lookup(self, host: str) -> Credentials | None:
        key = _host_key(host)
        helper = self._helpers.get(key)
        if helper:
            return run_helper(helper, key)
        found = _from_auths_entry(self._auths.get(key))
        if found is not None:
            return found
        if self._store:
            return run_helper(self._store, key)
        return None


def run_helper(helper: str, host: str) -> Credentials | None:
    """Ask ``docker-credential-<helper> get``; a missing helper or entry means no credentials."""
    server = "https://index.docker.io/v1/" if host == "docker.io" else host
    try:
        done = subprocess.run(
            [f"docker-credential-{helper}", "get"],
            input=server.encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        log.warning(
            "credential helper docker-credential-%s failed for %s: %s",
            helper,
            host,
            type(error).__name__,
        )
        return None
    if done.returncode != 0:
        # Helpers print "credentials not found in native keychain" here: not an error for us.
        log.debug("docker-credential-%s has no credentials for %s", helper, host)
        return None
    try:
        reply = json.loads(done.stdout)
        username, secret = reply["Username"], reply["Secret"]
    except (ValueError, KeyError, TypeError):
        log.warning("docker-credential-%s returned an unreadable answer for %s", helper, host)
        return None
    if not isinstance(username, str) or not isinstance(secret, str):
        return None
    if username == "<token>":
        return Credentials(identity_token=secret)
    return Credentials(username=username, password=secret)


def default_docker_config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return (Path(base) if base else Path.home() / ".docker") / "config.json"


class CredentialStore:
    """Credentials per registry host, looked up once and remembered (helpers are slow)."""

    def __init__(self, settings: RegistrySettings, docker_config: DockerConfig | None = None):
        self._settings = settings
        self._config = docker_config
        self._found: dict[str, Credentials | None] = {}
        self._lock = threading.Lock()

    def _docker_config(self) -> DockerConfig:
        if self._config is None:
            path = self._settings.docker_config
            self._config = DockerConfig.load(
                Path(path).expanduser() if path else default_docker_config_path()
            )
        return self._config

    def for_host(self, host: str) -> Credentials | None:
        key = _host_key(host)
        with self._lock:
            if key in self._found:
                return self._found[key]
        entry = host_settings(self._settings, key)
        found: Credentials | None
        if entry is not None and entry.identity_token:
            found = Credentials(username=entry.username, identity_token=entry.identity_token)
        elif entry is not None and (entry.username or entry.token):
            secret = entry.password if entry.password is not None else entry.token
            if entry.username and secret is not None:
                # A username with a token (a GitHub PAT for ghcr.io...) logs in like a password.
                found = Credentials(username=entry.username, password=secret)
            else:
                found = Credentials(registry_token=entry.token)
        else:
            found = self._docker_config().lookup(key)
        if found is not None:
            _remember(found)
        with self._lock:
            self._found[key] = found
        return found


def _remember(creds: Credentials) -> None:
    """Mask these credentials in all output from now on, Basic's base64 form included (a server
    that echoes the ``Authorization`` header it got would print that)."""
    basic = creds.basic
    encoded = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode() if basic else None
    remember(creds.password, creds.identity_token, creds.registry_token, encoded)
