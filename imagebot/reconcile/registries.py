"""Registry clients that live as long as the process, for both shells.

A ``RegistryClient`` keeps bearer tokens and the hosts a 429 shut (Retry-After); a client per
cycle forgets both, and the next cycle asks a rate-limited host again. A client replaced after a
settings change hands its shut hosts to its successor (and the registry cache dir keeps them for
the next process). ``RegistryClients`` keeps
one client per owner (an automation for the operator, the poll loop for ``imagebot run``) and
lends each cycle a ``CycleRegistry`` view whose ``stats`` count that cycle's requests only. A
client is replaced (the old one closed) when its owner's registry settings change. It reads no
Secrets and decides no retries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

from imagebot.config import RegistrySettings
from imagebot.records import record

if TYPE_CHECKING:  # requests loads with the registry client: not before a first cycle needs it
    from imagebot.model import Digest, TagFacts
    from imagebot.refs import ImageRef
    from imagebot.registry import (
        RateLimitInfo,
        RegistryClient,
        RepoQuery,
        RepoScan,
        RequestStats,
    )

Build = Callable[[RegistrySettings], "RegistryClient"]
Fingerprint = Callable[[RegistrySettings], Hashable]
Owner = TypeVar("Owner", bound=Hashable)


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

    def examine(self, image: ImageRef, tag: str) -> TagFacts:
        return self.client.examine(image, tag)

    @property
    def stats(self) -> RequestStats:
        return self.client.stats.since(self._before)

    @property
    def rate_limits(self) -> Mapping[str, RateLimitInfo]:
        return self.client.rate_limits


@record
class _Kept:
    fingerprint: Hashable
    client: RegistryClient


def _same_settings(settings: RegistrySettings) -> Hashable:
    return settings


def _new_client(settings: RegistrySettings) -> RegistryClient:
    from imagebot.registry import RegistryClient

    return RegistryClient(settings)


class RegistryClients(Generic[Owner]):
    """One registry client per owner, reused while the owner's registry settings stay the same.

    ``fingerprint`` says what "the same" means (the operator adds the digest of the docker-config
    Secret, so a rotated Secret reaches a new client). Thread-safe: cycles lease from worker
    threads while deletions arrive on the event loop. An owner runs one cycle at a time (the
    operator's lock per automation, the CLI's loop), which is what lets a cycle's request counts
    be a difference of two snapshots.
    """

    def __init__(
        self, build: Build = _new_client, fingerprint: Fingerprint = _same_settings
    ) -> None:
        self._build, self._fingerprint = build, fingerprint
        self._kept: dict[Owner, _Kept] = {}
        self._lock = threading.Lock()

    def lease(self, owner: Owner, settings: RegistrySettings) -> CycleRegistry:
        """This cycle's view of the owner's client, built anew if the settings changed."""
        fingerprint = self._fingerprint(settings)
        with self._lock:
            kept = self._kept.get(owner)
            if kept is not None and kept.fingerprint == fingerprint:
                return CycleRegistry(kept.client)
            fresh = _Kept(fingerprint, self._build(settings))
            self._kept[owner] = fresh
        if kept is not None:
            # New settings (a rotated Secret, an edited config) are no reason to ask a host
            # that is still inside its Retry-After.
            fresh.client.adopt_blocks(kept.client)
            kept.client.close()
        return CycleRegistry(fresh.client)

    def forget(self, owner: Owner) -> None:
        """Close and drop the client of an owner that is gone (a deleted automation)."""
        with self._lock:
            kept = self._kept.pop(owner, None)
        if kept is not None:
            kept.client.close()

    def owners(self) -> set[Owner]:
        with self._lock:
            return set(self._kept)

    def close(self) -> None:
        """Close every client (the process is ending)."""
        with self._lock:
            kept, self._kept = list(self._kept.values()), {}
        for entry in kept:
            entry.client.close()
