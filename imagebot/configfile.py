"""Read ``imagebot.yaml`` into ``Settings``, with errors that point at the bad key and line.

The file groups settings by concern (git, registries, paths); the JSON schema in
``imagebot/schema/`` describes the same shape for editors. Secrets never stand in the file
itself: it names environment variables or files that hold them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar, overload

from imagebot.config import GitSettings, RateLimit, RegistryHost, RegistrySettings, Settings
from imagebot.errors import ConfigError

Raw = Mapping[str, Any]
_T = TypeVar("_T", GitSettings, RegistrySettings, RateLimit)
_V = TypeVar("_V")


class _Reader:
    """Walks the loaded YAML, remembering where each key stood for error messages."""

    def __init__(self, source: str, env: Mapping[str, str]) -> None:
        self.source, self.env = source, env

    def fail(self, node: Any, key: str, message: str) -> ConfigError:
        line = ""
        lc = getattr(node, "lc", None)
        if lc is not None:
            try:
                line = f":{lc.key(key.rsplit('.', 1)[-1])[0] + 1}"
            except (KeyError, TypeError):
                line = f":{lc.line + 1}"
        return ConfigError(f"{self.source}{line}: {key}: {message}")

    def mapping(self, node: Any, key: str, allowed: set[str]) -> Raw:
        if node is None:
            return {}
        if not isinstance(node, Mapping):
            raise ConfigError(f"{self.source}: {key or 'top level'}: expected a mapping")
        for name in node:
            if name not in allowed:
                where = f"{key}.{name}" if key else str(name)
                if f"{name}Env" in allowed:
                    raise self.fail(
                        node, where, f"do not put secrets in the file; use {name}Env or {name}File"
                    )
                known = ", ".join(sorted(allowed))
                raise self.fail(node, where, f"unknown key (known keys: {known})")
        return node

    @overload
    def typed(self, node: Raw, key: str, name: str, kind: type[_V]) -> _V | None: ...
    @overload
    def typed(
        self, node: Raw, key: str, name: str, kind: tuple[type[int], type[float]]
    ) -> float | None: ...
    def typed(self, node: Raw, key: str, name: str, kind: type | tuple[type, ...]) -> Any:
        """``node[name]`` if it is of ``kind``, None when absent; else an error naming it."""
        value = node.get(name)
        if value is None:
            return None
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            raise self.fail(node, f"{key}.{name}".lstrip("."), "expected a number")
        if not isinstance(value, kind):
            wanted = {str: "a string", bool: "true or false", int: "a whole number"}.get(
                kind if isinstance(kind, type) else float, "a number"
            )
            raise self.fail(node, f"{key}.{name}".lstrip("."), f"expected {wanted}")
        return value

    def secret(self, node: Raw, key: str, name: str) -> str | None:
        """``<name>Env`` or ``<name>File`` name where a secret lives; the file never holds it."""
        if name in node:
            raise self.fail(
                node,
                f"{key}.{name}",
                f"do not put secrets in the file; use {name}Env or {name}File",
            )
        env_name = self.typed(node, key, f"{name}Env", str)
        if env_name:
            if env_name not in self.env:
                raise self.fail(
                    node, f"{key}.{name}Env", f"environment variable {env_name} is unset"
                )
            return self.env[env_name]
        file_name = self.typed(node, key, f"{name}File", str)
        if file_name:
            try:
                return Path(file_name).expanduser().read_text(encoding="utf-8").strip()
            except OSError as error:
                raise self.fail(
                    node, f"{key}.{name}File", f"cannot read {file_name}: {error.strerror}"
                ) from None
        return None


_TOP = {"git", "registries", "paths", "allowDowngrade"}
_GIT = {
    "branch", "pushBranch", "author", "messageTemplate", "skipCI", "signingKey", "signingFormat",
    "sshKeyFile", "knownHostsFile", "tokenEnv", "tokenFile", "maxPushAttempts", "username",
    "cacheDir",
}  # fmt: skip
_AUTHOR = {"name", "email"}
_REGISTRIES = {"hosts", "dockerConfig", "platform", "requiredPlatforms", "maxTagPages", "maxTags",
               "timeoutSeconds", "cacheDir"}  # fmt: skip
_HOST = {"insecure", "mirror", "username", "usernameEnv", "passwordEnv", "passwordFile",
         "tokenEnv", "tokenFile", "rateLimit"}  # fmt: skip
_RATE = {"maxConcurrency", "requestsPerSecond"}


def parse_settings(
    text: str, source: str, base: Settings | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Parse ``text`` (the content of ``source``) over ``base``; ``ConfigError`` if invalid."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="rt").load(text)
    except YAMLError as error:
        raise ConfigError(f"{source}: not valid YAML: {error}") from None
    reader = _Reader(source, os.environ if env is None else env)
    top = reader.mapping(data, "", _TOP)
    settings = base or Settings()
    paths = top.get("paths")
    if paths is not None:
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise reader.fail(top, "paths", "expected a list of directory names")
        settings = replace(settings, paths=tuple(paths))
    downgrade = reader.typed(top, "", "allowDowngrade", bool)
    if downgrade is not None:
        settings = replace(settings, allow_downgrade=downgrade)
    git = _git(reader, reader.mapping(top.get("git"), "git", _GIT), settings.git)
    registries = _registries(
        reader,
        reader.mapping(top.get("registries"), "registries", _REGISTRIES),
        settings.registries,
    )
    return replace(settings, git=git, registries=registries)


def _set(obj: _T, **values: Any) -> _T:
    present = {k: v for k, v in values.items() if v is not None}
    return replace(obj, **present) if present else obj


def _git(reader: _Reader, node: Raw, git: GitSettings) -> GitSettings:
    author = reader.mapping(node.get("author"), "git.author", _AUTHOR)
    token_file = reader.typed(node, "git", "tokenFile", str)
    return _set(
        git,
        branch=reader.typed(node, "git", "branch", str),
        push_branch=reader.typed(node, "git", "pushBranch", str),
        author_name=reader.typed(author, "git.author", "name", str),
        author_email=reader.typed(author, "git.author", "email", str),
        message_template=reader.typed(node, "git", "messageTemplate", str),
        skip_ci=reader.typed(node, "git", "skipCI", bool),
        signing_key=reader.typed(node, "git", "signingKey", str),
        signing_format=_choice(reader, node, "git", "signingFormat", {"openpgp", "ssh", "x509"}),
        username=reader.typed(node, "git", "username", str),
        cache_dir=reader.typed(node, "git", "cacheDir", str),
        ssh_key_file=reader.typed(node, "git", "sshKeyFile", str),
        known_hosts_file=reader.typed(node, "git", "knownHostsFile", str),
        token=_env(reader, node, "git", "tokenEnv"),
        token_file=token_file,
        max_push_attempts=_positive(reader, node, "git", "maxPushAttempts"),
    )


def _registries(reader: _Reader, node: Raw, current: RegistrySettings) -> RegistrySettings:
    hosts_node = node.get("hosts") or {}
    if not isinstance(hosts_node, Mapping):
        raise reader.fail(node, "registries.hosts", "expected a mapping of host name to settings")
    hosts = {entry.host: entry for entry in current.hosts}
    for host, value in hosts_node.items():
        key = f"registries.hosts.{host}"
        hosts[str(host)] = _host(reader, str(host), reader.mapping(value, key, _HOST), key)
    platforms = node.get("requiredPlatforms")
    if platforms is not None and not (
        isinstance(platforms, list) and all(isinstance(p, str) and "/" in p for p in platforms)
    ):
        raise reader.fail(node, "registries.requiredPlatforms", "expected a list of OS/ARCH")
    return _set(
        current,
        hosts=tuple(hosts.values()),
        docker_config=reader.typed(node, "registries", "dockerConfig", str),
        platform=reader.typed(node, "registries", "platform", str),
        required_platforms=tuple(platforms) if platforms is not None else None,
        max_tag_pages=_positive(reader, node, "registries", "maxTagPages"),
        max_tags=_positive(reader, node, "registries", "maxTags"),
        timeout_seconds=reader.typed(node, "registries", "timeoutSeconds", (int, float)),
        cache_dir=reader.typed(node, "registries", "cacheDir", str),
    )


def _host(reader: _Reader, host: str, node: Raw, key: str) -> RegistryHost:
    rate_node = reader.mapping(node.get("rateLimit"), f"{key}.rateLimit", _RATE)
    rate = None
    if rate_node:
        rate = _set(
            RateLimit(),
            max_concurrency=_positive(reader, rate_node, f"{key}.rateLimit", "maxConcurrency"),
            requests_per_second=reader.typed(
                rate_node, f"{key}.rateLimit", "requestsPerSecond", (int, float)
            ),
        )
    username = reader.typed(node, key, "username", str) or _env(reader, node, key, "usernameEnv")
    return RegistryHost(
        host=host,
        username=username,
        password=reader.secret(node, key, "password"),
        token=reader.secret(node, key, "token"),
        insecure=bool(reader.typed(node, key, "insecure", bool)),
        mirror=reader.typed(node, key, "mirror", str),
        rate_limit=rate,
    )


def _env(reader: _Reader, node: Raw, key: str, name: str) -> str | None:
    env_name = reader.typed(node, key, name, str)
    if env_name is None:
        return None
    if env_name not in reader.env:
        raise reader.fail(node, f"{key}.{name}", f"environment variable {env_name} is unset")
    return reader.env[env_name]


def _positive(reader: _Reader, node: Raw, key: str, name: str) -> int | None:
    value = reader.typed(node, key, name, int)
    if value is not None and value < 1:
        raise reader.fail(node, f"{key}.{name}", "must be at least 1")
    return value


def _choice(reader: _Reader, node: Raw, key: str, name: str, allowed: set[str]) -> str | None:
    value = reader.typed(node, key, name, str)
    if value is not None and value not in allowed:
        raise reader.fail(node, f"{key}.{name}", f"expected one of {', '.join(sorted(allowed))}")
    return value


def load_settings(path: str | Path, base: Settings | None = None, *, source: str = "") -> Settings:
    """Read the settings file at ``path`` and parse it over ``base`` (errors name ``source``,
    default ``path``); ``ConfigError`` when it is missing, unreadable or invalid."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file; check the --config path") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    return parse_settings(text, source or str(path), base)


def settings_loader(
    path: str | None, base: Settings, apply: Callable[[Settings], Settings]
) -> Callable[[Path], Settings]:
    """A function from workspace root to final settings: ``path`` (or ``imagebot.yaml`` in the
    repository) under the command line's explicit choices, which ``apply`` re-applies on top."""

    def load(root: Path) -> Settings:
        if path:
            return apply(load_settings(path, base))
        file = root / "imagebot.yaml"
        if not file.is_file():
            return base
        return apply(load_settings(file, base, source="imagebot.yaml"))

    return load
