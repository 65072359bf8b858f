"""OCI distribution client: tags, manifests, creation times, auth, cache (edge: HTTP).

Reconcile uses ``RegistryClient.scan`` once per cycle, then ``digest`` and ``examine`` for
chosen candidates only. See docs/registries.md for the request budget and the cache design.
It knows nothing about policies: callers pass a ``wants`` predicate.

``RegistryClient`` loads on first use, with the HTTP stack under it: planning names only the
queries and answers (``scans``), and ``imagebot run`` loads requests while its scan runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imagebot.registry.cache import DigestFacts, MetadataCache, TagRecord
from imagebot.registry.credentials import Credentials, CredentialStore, DockerConfig
from imagebot.registry.limits import RateLimitInfo, RequestStats
from imagebot.registry.scans import RepoQuery, RepoScan

if TYPE_CHECKING:
    from imagebot.registry.client import RegistryClient

__all__ = [
    "CredentialStore",
    "Credentials",
    "DigestFacts",
    "DockerConfig",
    "MetadataCache",
    "RateLimitInfo",
    "RegistryClient",
    "RepoQuery",
    "RepoScan",
    "RequestStats",
    "TagRecord",
]


def __getattr__(name: str) -> Any:
    if name == "RegistryClient":
        from imagebot.registry.client import RegistryClient

        return RegistryClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
