"""Where to send a reference's requests: host, scheme, mirror, Docker Hub's API, per-host settings.

``docker.io`` references go to ``registry-1.docker.io`` (and the Hub API at ``hub.docker.com``)
unless a mirror is configured; TLS is on unless the user marked the host insecure or it is a
loopback address. Pure decisions over settings: no requests are made here.
"""

from __future__ import annotations

import ipaddress

from imagebot.config import RateLimit, RegistryHost, RegistrySettings
from imagebot.records import record
from imagebot.refs import DOCKER_HUB, ImageRef, normalize_registry

HUB_REGISTRY_HOST = "registry-1.docker.io"
HUB_API_HOST = "hub.docker.com"
HUB_AUTH_HOST = "auth.docker.io"
DOCKER_HUB_HOSTS = frozenset({HUB_REGISTRY_HOST, HUB_API_HOST, HUB_AUTH_HOST})

# Docker Hub counts pulls per IP and bans eager clients: stay well below its limits by default.
DOCKER_HUB_RATE_LIMIT = RateLimit(max_concurrency=4, requests_per_second=10.0)
# Other hosts, as Flux and Argo CD treat them: a cap on requests in flight and no pacing; a 429
# shuts the host until its Retry-After (transport.py). A configured ``requestsPerSecond`` paces.
DEFAULT_RATE_LIMIT = RateLimit(max_concurrency=8)


@record
class Endpoint:
    """One repository as reachable over HTTP.

    ``registry`` is the canonical registry of the reference (what users and caches key on);
    ``host`` is the host actually asked (a mirror, or ``registry-1.docker.io``).
    """

    registry: str
    host: str
    base_url: str
    repository: str
    hub_api: bool = False

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def scope(self) -> str:
        """The token scope for reading this repository."""
        return f"repository:{self.repository}:pull"

    def url(self, path: str) -> str:
        """The URL of ``/v2/<repository>/<path>``."""
        return f"{self.base_url}/v2/{self.repository}/{path}"


def is_loopback(host: str) -> bool:
    """True for ``localhost``, ``127.x.x.x`` and ``[::1]``, with or without a port."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_settings(settings: RegistrySettings, host: str) -> RegistryHost | None:
    """The settings entry for ``host``; Docker Hub's aliases all find the ``docker.io`` entry."""
    wanted = normalize_registry(host)
    for entry in settings.hosts:
        if normalize_registry(entry.host) == wanted:
            return entry
    return None


def scheme_for(settings: RegistrySettings, host: str) -> str:
    """``http`` only for hosts marked insecure and for loopback; ``https`` everywhere else."""
    entry = host_settings(settings, host)
    if (entry is not None and entry.insecure) or is_loopback(host):
        return "http"
    return "https"


def rate_limit_for(settings: RegistrySettings, host: str) -> RateLimit:
    entry = host_settings(settings, host)
    if entry is not None and entry.rate_limit is not None:
        return entry.rate_limit
    if host in DOCKER_HUB_HOSTS or normalize_registry(host) == DOCKER_HUB:
        return DOCKER_HUB_RATE_LIMIT
    return DEFAULT_RATE_LIMIT


def resolve(image: ImageRef, settings: RegistrySettings) -> Endpoint:
    """Map a parsed reference to the endpoint to ask, applying a configured mirror."""
    entry = host_settings(settings, image.registry)
    if entry is not None and entry.mirror:
        mirror = entry.mirror.removeprefix("https://").removeprefix("http://").rstrip("/")
        scheme = "http" if entry.mirror.startswith("http://") else scheme_for(settings, mirror)
        return Endpoint(image.registry, mirror, f"{scheme}://{mirror}", image.repository)
    if image.registry == DOCKER_HUB:
        return Endpoint(
            DOCKER_HUB,
            HUB_REGISTRY_HOST,
            f"https://{HUB_REGISTRY_HOST}",
            image.repository,
            hub_api=settings.use_hub_api,
        )
    host = image.registry
    return Endpoint(host, host, f"{scheme_for(settings, host)}://{host}", image.repository)


def hub_tags_url(repository: str, page_size: int = 100) -> str:
    """The Hub API's tag listing, newest update first."""
    namespace, _, name = repository.partition("/")
    return (
        f"https://{HUB_API_HOST}/v2/namespaces/{namespace}/repositories/{name}/tags"
        f"?page_size={page_size}&ordering=last_updated"
    )
