"""Registry clients kept across an automation's cycles, so tokens and 429 blocks outlive a cycle.

``KeptRegistries`` holds one ``RegistryClient`` per automation and lends each cycle a
``CycleRegistry`` view of it whose ``stats`` count that cycle's requests only. The client is
replaced (the old one closed) when the automation's registry settings or its docker-config Secret
change, and closed when the automation is forgotten. It reads no Secrets and decides no retries.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from imagebot.config import RegistrySettings
from imagebot.model import Digest
from imagebot.refs import ImageRef
from imagebot.registry import (
    CredentialStore,
    DockerConfig,
    RateLimitInfo,
    RegistryClient,
    RepoQuery,
    RepoScan,
    RequestStats,
)

Key = tuple[str, str]
"""An automation: (namespace, name)."""


def build_client(
    settings: RegistrySettings, *, clock: Callable[[], float] = time.monotonic
) -> RegistryClient:
    """A client whose docker config is read now: the cycle's temporary copy of the Secret is
    deleted when the cycle ends, and a kept client may first need it in a later one."""
    config = DockerConfig.load(Path(settings.docker_config)) if settings.docker_config else None
    return RegistryClient(settings, clock=clock, credentials=CredentialStore(settings, config))


class CycleRegistry:
    """One cycle's view of a kept client: what reconcile calls, and this cycle's request counts."""

    def __init__(self, client: RegistryClient) -> None:
        self.client = client
        self._before = client.stats.detailed()

    def scan(
        self,
        requests: Sequence[RepoQuery],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, RepoScan]:
        return self.client.scan(requests, progress=progress)

    def digest(self, image: ImageRef, tag: str) -> Digest:
        return self.client.digest(image, tag)

    def platforms(self, image: ImageRef, tag: str) -> tuple[str, ...]:
        return self.client.platforms(image, tag)

    @property
    def stats(self) -> RequestStats:
        return self.client.stats.since(self._before)

    @property
    def rate_limits(self) -> Mapping[str, RateLimitInfo]:
        return self.client.rate_limits


@dataclass(frozen=True, slots=True)
class _Kept:
    fingerprint: tuple[RegistrySettings, str]
    client: RegistryClient


class KeptRegistries:
    """One registry client per automation, reused while its registry settings stay the same.

    Thread-safe: cycles lease from worker threads while deletions arrive on the event loop. The
    controller's lock per automation keeps two cycles of one automation from sharing a client
    at once, which is what lets a cycle's request counts be a difference of two snapshots.
    """

    def __init__(self, build: Callable[[RegistrySettings], RegistryClient] = build_client) -> None:
        self._build = build
        self._kept: dict[Key, _Kept] = {}
        self._lock = threading.Lock()

    def lease(self, key: Key, settings: RegistrySettings) -> CycleRegistry:
        """This cycle's view of the automation's client, built anew if the settings changed."""
        fingerprint = _fingerprint(settings)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept.fingerprint == fingerprint:
                return CycleRegistry(kept.client)
            self._kept[key] = _Kept(fingerprint, self._build(settings))
            fresh = self._kept[key].client
        if kept is not None:
            kept.client.close()
        return CycleRegistry(fresh)

    def forget(self, key: Key) -> None:
        """Close and drop the client of a deleted automation."""
        with self._lock:
            kept = self._kept.pop(key, None)
        if kept is not None:
            kept.client.close()

    def keys(self) -> set[Key]:
        with self._lock:
            return set(self._kept)


def _fingerprint(settings: RegistrySettings) -> tuple[RegistrySettings, str]:
    """The settings without the per-cycle path of the docker config, plus that file's digest
    (a rotated Secret must reach a new client; the digest keeps no secret in memory)."""
    content = b""
    if settings.docker_config:
        with contextlib.suppress(FileNotFoundError):
            content = Path(settings.docker_config).read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    return replace(settings, docker_config=None), digest
