"""OCI distribution client: tags, manifests, creation times, auth, cache (edge: HTTP).

Reconcile uses ``RegistryClient.scan`` once per cycle, then ``digest`` and ``examine`` for
chosen candidates only. See docs/registries.md for the request budget and the cache design.
It knows nothing about policies: callers pass a ``wants`` predicate.
"""

from imagebot.registry.cache import DigestFacts, MetadataCache, TagRecord
from imagebot.registry.client import RegistryClient, RepoQuery, RepoScan
from imagebot.registry.credentials import Credentials, CredentialStore, DockerConfig
from imagebot.registry.limits import RateLimitInfo, RequestStats

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
