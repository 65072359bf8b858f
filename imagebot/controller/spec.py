"""Read an ImageAutomation's ``spec`` into typed values and check it, naming the bad field.

``parse_spec`` is pure: it reads the CR's JSON through the same grammar as ``imagebot.yaml``
(``imagebot.settings``: one table of keys, types, ranges and defaults) into an
``AutomationSpec`` or raises a ``ConfigError`` naming ``spec.<field>``. Secrets are only
referenced here; ``imagebot.controller.secrets`` reads them and completes the ``Settings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any

from imagebot.config import Settings
from imagebot.controller.crd import DEFAULT_INTERVAL_SECONDS
from imagebot.errors import ConfigError
from imagebot.records import record
from imagebot.settings import Source
from imagebot.settings.grammar import read_settings


@record
class AutomationSpec:
    """What one ImageAutomation asks for: settings without secrets, and the Secrets' names."""

    settings: Settings = field(default_factory=Settings)
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS
    suspend: bool = False
    git_secret: str | None = None
    signing_secret: str | None = None
    registry_secrets: tuple[str, ...] = ()


def _locate(_parent: object, _name: object, key: str) -> str:
    return f"spec.{key}"


def parse_spec(spec: Mapping[str, Any]) -> AutomationSpec:
    """Check the spec and return it typed; the error names the first wrong field."""
    reading = read_settings(spec, Source.RESOURCE, _locate)
    settings, extras = reading.settings, reading.extras
    if not (spec.get("git") or {}).get("url"):
        raise ConfigError("spec.git.url is required: the repository imagebot commits to")
    interval = extras.get("interval")
    secrets = extras.get("registries.secretRefs")
    if not isinstance(secrets, tuple):
        secrets = ()
    return AutomationSpec(
        settings=settings,
        interval_seconds=interval if isinstance(interval, float) else DEFAULT_INTERVAL_SECONDS,
        suspend=extras.get("suspend") is True,
        git_secret=_name(extras.get("git.secretRef")),
        signing_secret=_name(extras.get("git.signingKey.secretRef")),
        registry_secrets=tuple(str(name) for name in secrets),
    )


def _name(value: object) -> str | None:
    return value if isinstance(value, str) else None
