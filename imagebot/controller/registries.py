"""How the operator builds and keeps its registry clients: one per automation, across cycles.

The keeping is ``imagebot.reconcile.registries.RegistryClients``, shared with ``imagebot run``;
this module adds what only the operator has: logins from the automation's Secrets and nothing
else (no docker config of the pod's own), and a docker config the settings name read when a
client is built and fingerprinted, so that a rotated one reaches a new client. It reads no
Secrets from the cluster and decides no retries.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from imagebot.config import RegistrySettings
from imagebot.reconcile.registries import Build, RegistryClients
from imagebot.registry import CredentialStore, DockerConfig, RegistryClient

AutomationKey = tuple[str, str]
"""An automation, the owner of a kept client: (namespace, name)."""


def build_client(
    settings: RegistrySettings, *, clock: Callable[[], float] = time.monotonic
) -> RegistryClient:
    """A client whose logins are the automation's own and nothing else.

    The trusted sources in the operator are the ImageAutomation and the Secrets it names: a host
    those Secrets do not cover is asked anonymously, never with the pod's own
    ``~/.docker/config.json`` or ``$DOCKER_CONFIG`` (which any automation could otherwise borrow
    by naming that host). A docker config the settings name explicitly is read now: a kept
    client may first need it in a later cycle."""
    config = (
        DockerConfig.load(Path(settings.docker_config))
        if settings.docker_config
        else DockerConfig({})
    )
    return RegistryClient(settings, clock=clock, credentials=CredentialStore(settings, config))


def operator_registries(build: Build = build_client) -> RegistryClients[AutomationKey]:
    """The operator's clients: one per automation, kept while its registry settings and its
    docker-config Secret stay the same."""
    return RegistryClients(build, secret_fingerprint)


def secret_fingerprint(settings: RegistrySettings) -> tuple[RegistrySettings, str]:
    """The settings without the per-cycle path of the docker config, plus that file's digest
    (a rotated Secret must reach a new client; the digest keeps no secret in memory)."""
    content = b""
    if settings.docker_config:
        with contextlib.suppress(FileNotFoundError):
            content = Path(settings.docker_config).read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    return replace(settings, docker_config=None), digest
