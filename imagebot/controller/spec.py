"""Read an ImageAutomation's ``spec`` into typed values and check it, naming the bad field.

``parse_spec`` is pure: it turns the CR's JSON into an ``AutomationSpec`` or raises a
``ConfigError`` that says which field is wrong and how to fix it. Secrets are only referenced
here; ``imagebot.controller.secrets`` reads them and builds the final ``Settings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from imagebot.config import RateLimit, RegistryHost
from imagebot.controller.crd import DEFAULT_INTERVAL_SECONDS
from imagebot.durations import parse_duration
from imagebot.errors import ConfigError

MIN_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class AutomationSpec:
    """What one ImageAutomation asks for, with secrets still as references (names)."""

    url: str
    branch: str | None = None
    push_branch: str | None = None
    paths: tuple[str, ...] = ()
    git_secret: str | None = None
    author_name: str = "imagebot"
    author_email: str = "imagebot@users.noreply.imagebot.io"
    message_template: str | None = None
    signing_secret: str | None = None
    signing_format: str | None = None
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS
    suspend: bool = False
    registry_secrets: tuple[str, ...] = ()
    hosts: tuple[RegistryHost, ...] = ()
    platform: str = "linux/amd64"
    allow_downgrade: bool = False


def parse_interval(value: object, field: str) -> float:
    """Seconds in a duration field (``5m``, ``1h30m``, ``90s``, ``90``), at least 1 s."""
    try:
        seconds = parse_duration(value)
    except ConfigError as error:
        raise ConfigError(f"spec.{field}: {error}") from None
    if seconds < MIN_INTERVAL_SECONDS:
        raise ConfigError(f"spec.{field}: {value!r} is shorter than 1s; imagebot would hammer")
    return seconds


def parse_spec(spec: Mapping[str, Any]) -> AutomationSpec:
    """Check the spec and return it typed; the error names the first wrong field."""
    git = _mapping(spec, "git")
    url = _string(git, "url", "git.url")
    if not url:
        raise ConfigError("spec.git.url is required: the repository imagebot commits to")
    author = _mapping(git, "author", "git.author")
    signing = _mapping(git, "signingKey", "git.signingKey")
    signing_format = _string(signing, "format", "git.signingKey.format")
    if signing_format not in (None, "openpgp", "ssh"):
        raise ConfigError(f"spec.git.signingKey.format: {signing_format!r}; use openpgp or ssh")
    registries = _mapping(spec, "registries")
    return AutomationSpec(
        url=url,
        branch=_string(git, "branch", "git.branch"),
        push_branch=_string(git, "pushBranch", "git.pushBranch"),
        paths=tuple(_strings(git, "paths", "git.paths")),
        git_secret=_secret_name(git, "secretRef", "git.secretRef"),
        author_name=_string(author, "name", "git.author.name") or "imagebot",
        author_email=_string(author, "email", "git.author.email")
        or "imagebot@users.noreply.imagebot.io",
        message_template=_string(git, "messageTemplate", "git.messageTemplate"),
        signing_secret=_secret_name(signing, "secretRef", "git.signingKey.secretRef"),
        signing_format=signing_format,
        interval_seconds=parse_interval(spec.get("interval", "5m"), "interval"),
        suspend=_boolean(spec, "suspend", "suspend"),
        registry_secrets=tuple(
            _secret_name({"ref": ref}, "ref", f"registries.secretRefs[{index}]") or ""
            for index, ref in enumerate(_list(registries, "secretRefs", "registries.secretRefs"))
        ),
        hosts=tuple(
            _host(entry, f"registries.hosts[{index}]")
            for index, entry in enumerate(_list(registries, "hosts", "registries.hosts"))
        ),
        platform=_string(registries, "platform", "registries.platform") or "linux/amd64",
        allow_downgrade=_boolean(spec, "allowDowngrade", "allowDowngrade"),
    )


def _host(entry: object, field: str) -> RegistryHost:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"spec.{field}: expected an object with host, insecure, mirror")
    host = _string(entry, "host", f"{field}.host")
    if not host:
        raise ConfigError(f"spec.{field}.host is required, e.g. ghcr.io or registry:5000")
    limit = _mapping(entry, "rateLimit", f"{field}.rateLimit")
    rate_limit = None
    if limit:
        defaults = RateLimit()  # the same defaults as imagebot.yaml: a cap, no pacing
        rate_limit = RateLimit(
            max_concurrency=int(limit.get("maxConcurrency", defaults.max_concurrency)),
            requests_per_second=float(limit.get("requestsPerSecond", defaults.requests_per_second)),
        )
    return RegistryHost(
        host=host,
        insecure=_boolean(entry, "insecure", f"{field}.insecure"),
        mirror=_string(entry, "mirror", f"{field}.mirror"),
        rate_limit=rate_limit,
    )


def _mapping(parent: Mapping[str, Any], key: str, field: str | None = None) -> Mapping[str, Any]:
    value = parent.get(key) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"spec.{field or key}: expected an object, got {type(value).__name__}")
    return value


def _list(parent: Mapping[str, Any], key: str, field: str) -> list[Any]:
    value = parent.get(key) or []
    if not isinstance(value, list):
        raise ConfigError(f"spec.{field}: expected a list, got {type(value).__name__}")
    return value


def _string(parent: Mapping[str, Any], key: str, field: str) -> str | None:
    value = parent.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"spec.{field}: expected a string, got {value!r}")
    return value


def _strings(parent: Mapping[str, Any], key: str, field: str) -> list[str]:
    values = _list(parent, key, field)
    if not all(isinstance(value, str) and value for value in values):
        raise ConfigError(f"spec.{field}: expected a list of non-empty strings")
    return values


def _boolean(parent: Mapping[str, Any], key: str, field: str) -> bool:
    value = parent.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"spec.{field}: expected true or false, got {value!r}")
    return value


def _secret_name(parent: Mapping[str, Any], key: str, field: str) -> str | None:
    ref = parent.get(key)
    if ref is None:
        return None
    if not isinstance(ref, Mapping) or not isinstance(ref.get("name"), str) or not ref["name"]:
        raise ConfigError(f"spec.{field}: expected {{name: SECRET}}, a Secret in this namespace")
    name: str = ref["name"]
    return name
