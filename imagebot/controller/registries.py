"""How the operator builds and keeps its registry clients: one per automation, across cycles,
all answering tag lists from one ``SharedAnswers``.

The keeping is ``imagebot.reconcile.registries.RegistryClients``, shared with ``imagebot run``;
this module adds what only the operator has: logins from the automation's Secrets and nothing
else (no docker config of the pod's own), a docker config the settings name read when a client
is built and fingerprinted, so that a rotated one reaches a new client, and what the clients
share. Tag lists are shared across the whole process by (repository, login) (see
``imagebot.registry.fleet``). Manifests, config blobs and creation times are shared by one
``MetadataCache`` per cache directory, which the controller makes one per namespace: whoever
may create an automation in a namespace may name every registry Secret there, so the namespace
is already the trust boundary of those logins; across namespaces nothing fetched with a login is
shared. It reads no Secrets from the cluster and decides no retries.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from imagebot.config import RegistrySettings
from imagebot.reconcile.registries import Build, RegistryClients
from imagebot.registry import CredentialStore, DockerConfig, MetadataCache, RegistryClient
from imagebot.registry.fleet import SharedAnswers

AutomationKey = tuple[str, str]
"""An automation, the owner of a kept client: (namespace, name)."""


def build_client(
    settings: RegistrySettings,
    *,
    clock: Callable[[], float] = time.monotonic,
    shared: SharedAnswers | None = None,
    cache: MetadataCache | None = None,
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
    credentials = CredentialStore(settings, config)
    return RegistryClient(
        settings, clock=clock, credentials=credentials, shared=shared, cache=cache
    )


class FleetBuild:
    """Builds the operator's clients on one ``SharedAnswers`` and one metadata cache per cache
    directory (per namespace), so that 50 automations keep one copy, not 50."""

    def __init__(
        self, shared: SharedAnswers | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.shared = shared if shared is not None else SharedAnswers()
        self._clock = clock
        self._caches: dict[str, MetadataCache] = {}
        self._lock = threading.Lock()

    def __call__(self, settings: RegistrySettings) -> RegistryClient:
        cache = None
        if settings.cache_dir is not None:
            with self._lock:
                cache = self._caches.setdefault(
                    settings.cache_dir, MetadataCache(settings.cache_dir)
                )
        return build_client(settings, clock=self._clock, shared=self.shared, cache=cache)


def operator_registries(build: Build | None = None) -> RegistryClients[AutomationKey]:
    """The operator's clients: one per automation, kept while its registry settings and its
    docker-config Secret stay the same; built by a ``FleetBuild`` unless ``build`` is given."""
    return RegistryClients(build or FleetBuild(), secret_fingerprint)


def secret_fingerprint(settings: RegistrySettings) -> tuple[RegistrySettings, str]:
    """The settings without the per-cycle path of the docker config, plus that file's digest
    (a rotated Secret must reach a new client; the digest keeps no secret in memory)."""
    content = b""
    if settings.docker_config:
        with contextlib.suppress(FileNotFoundError):
            content = Path(settings.docker_config).read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    return replace(settings, docker_config=None), digest
