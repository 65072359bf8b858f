"""Which push-time API a registry host offers, and listing a repository's tags through it.

A time-ordered policy needs each candidate tag's time. The registry API gives it at 2 requests
per new tag (manifest, config blob); Quay's tag API, Harbor's artifacts API and GitHub's packages
API give every tag's push time at 1 request per page, ECR's ``DescribeImages`` (``ecr``) at 1
signed request per 1000 images, and Google's tag list carries it for free (``listing`` reads
it). Docker Hub's API is ``listing.list_hub_tags``. Credentials are bound to the host they were
configured for: a ``pushTimes`` token or AWS signature goes to the API URL's host only, the
registry's own login only to an API on the registry's own host (Harbor). A later cycle lists
the tags (1 request) and reuses the times the API gave this process. When an API refuses or
answers nonsense the caller falls back to manifests; a refusal that will not pass (401, 403,
404, a malformed answer) turns the API off for that repository for the rest of the process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from imagebot.config import PushTimes, RegistrySettings
from imagebot.errors import RegistryAnswerError, RegistryError, RegistryNotFound
from imagebot.records import record
from imagebot.redact import remember
from imagebot.registry.auth import basic_header
from imagebot.registry.credentials import CredentialStore
from imagebot.registry.endpoints import Endpoint, host_settings, is_loopback
from imagebot.registry.listing import MAX_PAGE_BYTES, capped, list_tags, next_link, truncated
from imagebot.registry.pushpages import PushedTag, ecr_page, github_page, harbor_page, quay_page
from imagebot.registry.replies import Reply, host_of
from imagebot.registry.transport import Transport

if TYPE_CHECKING:  # ``ecr`` and ``sigv4`` are imported only where ECR is configured
    from imagebot.registry.ecr import EcrSigning

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # the largest page Quay, Harbor and GitHub all serve
GITHUB_API = "https://api.github.com"
GOOGLE_SUFFIXES = (".gcr.io", "-docker.pkg.dev")


@record
class PushApi:
    """One repository's push-time API: its kind, base URL and the headers bound to that base's
    host (``transport`` drops ``Authorization`` on a redirect to any other host); for ECR, what
    signs each request instead."""

    kind: str
    base: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    ecr: EcrSigning | None = field(default=None, repr=False)


def push_config(settings: RegistrySettings, host: str) -> PushTimes:
    """The host's ``pushTimes`` settings, or the defaults (``auto``) when it names none."""
    entry = host_settings(settings, host)
    return entry.push_times if entry is not None and entry.push_times else PushTimes()


def api_kind(endpoint: Endpoint, settings: RegistrySettings) -> str:
    """The API named for the host, or for ``auto`` the one its well-known name implies; a mirror
    answers for another registry, so it has none (as the Hub API is off behind a mirror)."""
    if endpoint.host != endpoint.registry:
        return "none"
    config = push_config(settings, endpoint.host)
    if config.api != "auto":
        return config.api
    host = endpoint.host.lower()
    if host == "gcr.io" or host.endswith(GOOGLE_SUFFIXES):
        return "google"
    if host == "quay.io":
        return "quay"
    if host == "ghcr.io" and config.token:
        return "github"  # GitHub's packages API needs a token even for public packages
    return "none"


class PushTimeLister:
    """Lists tags with push times through the API a host offers; thread-safe."""

    def __init__(
        self,
        transport: Transport,
        settings: RegistrySettings,
        credentials: CredentialStore,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._transport, self._settings, self._credentials = transport, settings, credentials
        self._now = now  # the wall clock an AWS signature is dated with
        self._off: set[str] = set()
        self._owners: dict[tuple[str, str], str] = {}  # (API base, owner) -> "orgs" or "users"
        self._known: dict[str, dict[str, PushedTag]] = {}
        self._lock = threading.Lock()

    def reads_google(self, endpoint: Endpoint) -> bool:
        return api_kind(endpoint, self._settings) == "google"

    def api(self, endpoint: Endpoint) -> PushApi | None:
        """The repository's API with one page request per 100 tags, or None (none configured,
        Google's which costs no request of its own, or turned off after a refusal)."""
        kind = api_kind(endpoint, self._settings)
        if kind in ("none", "google"):
            return None
        with self._lock:
            if endpoint.name in self._off:
                return None
        config = push_config(self._settings, endpoint.host)
        if kind == "ecr":
            return self._ecr_api(endpoint, config)
        default = GITHUB_API if kind == "github" else endpoint.base_url
        base = self._checked(endpoint, kind, config.url or default)
        if base is None:
            return None
        headers = {"Accept": "application/json"}
        if config.token:
            remember(config.token)  # masked in all output, as registry secrets are
            headers["Authorization"] = f"Bearer {config.token}"
        elif kind == "github":
            self._turn_off(endpoint, kind, "GitHub's packages API needs pushTimes.tokenEnv")
            return None
        elif kind == "harbor" and host_of(base) == endpoint.host:
            # Harbor's API takes the registry's own login (a robot account), on its own host.
            login = self._credentials.for_host(endpoint.host)
            if login is not None and login.basic is not None:
                headers["Authorization"] = basic_header(*login.basic)
        if kind == "github":
            headers["Accept"] = "application/vnd.github+json"
            headers["X-GitHub-Api-Version"] = "2022-11-28"
        return PushApi(kind, base, headers)

    def _checked(self, endpoint: Endpoint, kind: str, url: str) -> str | None:
        """``url`` without its trailing slash when it is https (http only on loopback)."""
        base = url.rstrip("/")
        if base.startswith("https://") or (
            base.startswith("http://") and is_loopback(host_of(base))
        ):
            return base
        self._turn_off(endpoint, kind, f"{base!r} is not an https:// URL")
        return None

    def _ecr_api(self, endpoint: Endpoint, config: PushTimes) -> PushApi | None:
        """ECR's API, signed with the configured AWS credentials, on the API host of the
        registry's region (or ``url``: a VPC or FIPS endpoint)."""
        from imagebot.registry.ecr import EcrSigning, ecr_registry
        from imagebot.registry.sigv4 import AwsCredentials

        registry = ecr_registry(endpoint.host)
        if registry is None:
            reason = f"{endpoint.host} is not named <account>.dkr.ecr.<region>.amazonaws.com"
            self._turn_off(endpoint, "ecr", reason)
            return None
        base = self._checked(endpoint, "ecr", config.url or registry.api)
        if base is None:
            return None
        key, secret, token = config.access_key_id, config.secret_access_key, config.session_token
        if not key or not secret:
            reason = (
                "ECR's API needs AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or pushTimes.accessKeyIdEnv and secretAccessKeyEnv in --config"
            )
            self._turn_off(endpoint, "ecr", reason)
            return None
        remember(key, secret, token)  # masked in all output, as registry secrets are
        signing = EcrSigning(registry, AwsCredentials(key, secret, token))
        return PushApi("ecr", base, ecr=signing)

    def keep(self, endpoint: Endpoint, tags: Collection[PushedTag]) -> None:
        """Remember the push times of a repository's wanted tags for this process's later
        cycles: a tag is treated as immutable for ordering, as a tag record is (a claim of
        another API is never written to the tag records, whose digests must have been hashed)."""
        with self._lock:
            self._known[endpoint.name] = {tag.name: tag for tag in tags}

    def relisted(
        self, endpoint: Endpoint, wanted: Callable[[str], bool], keep: Collection[str] = ()
    ) -> tuple[list[PushedTag], str | None] | None:
        """A later cycle: the tag list (1 request) with the push times kept from the API, when
        it gave one for every wanted tag; None before the API was read, or when a wanted tag is
        new to it (the caller then reads the API's pages again)."""
        with self._lock:
            known = self._known.get(endpoint.name)
        if known is None:
            return None
        listing = list_tags(self._transport, endpoint, self._settings, keep)
        if not all(tag in known for tag in listing.tags if wanted(tag)):
            return None
        return [known.get(t) or PushedTag(t, None, None) for t in listing.tags], listing.warning

    def refused(self, endpoint: Endpoint, api: PushApi, error: RegistryError) -> None:
        """Note a failed API; one that will not pass is not asked again by this process."""
        if error.permanent:
            self._turn_off(endpoint, api.kind, str(error))
        else:
            log.info(
                "%s: the %s push-time API failed (%s); using manifests this cycle",
                endpoint.name,
                api.kind,
                error,
            )

    def _turn_off(self, endpoint: Endpoint, kind: str, reason: str) -> None:
        with self._lock:
            if endpoint.name in self._off:
                return
            self._off.add(endpoint.name)
        log.info(
            "%s: no push times from the %s API (%s); using manifests, as without it",
            endpoint.name,
            kind,
            reason,
        )

    def tags(
        self, endpoint: Endpoint, api: PushApi, keep: Collection[str] = ()
    ) -> tuple[list[PushedTag], str | None]:
        """Every tag with its push time, within ``maxTagPages`` and ``maxTags`` (tags in
        ``keep``, the deployed ones, stay past ``maxTags``), and a warning when cut short."""
        what = f"the tags of {endpoint.name} ({api.kind} push-time API)"
        # The next page: its URL, or for ECR its nextToken ("" for the first).
        cursor: str | None = "" if api.ecr else self._first_url(endpoint, api)
        asked: set[str] = set()
        found: list[PushedTag] = []
        seen: set[str] = set()
        pages = 0
        while cursor is not None:
            if pages >= self._settings.max_tag_pages:
                return found, truncated(what, len(found), "max_tag_pages")
            if cursor in asked:
                raise RegistryAnswerError(f"{what}: the API named a page it gave before; refused")
            asked.add(cursor)
            pages += 1
            tags, cursor = self._page(endpoint, api, cursor, what, pages)
            for tag in tags:
                if tag.name not in seen:
                    seen.add(tag.name)
                    found.append(tag)
            if len(found) >= self._settings.max_tags:
                cap = self._settings.max_tags
                kept = capped(found, cap, keep, name=lambda t: t.name)
                return kept, truncated(what, cap, "max_tags")
        return found, None

    def _first_url(self, endpoint: Endpoint, api: PushApi) -> str:
        repository = endpoint.repository
        if api.kind == "quay":
            return (
                f"{api.base}/api/v1/repository/{repository}/tag/"
                f"?page=1&limit={PAGE_SIZE}&onlyActiveTags=true"
            )
        project, _, name = repository.partition("/")
        if api.kind == "harbor":
            # Harbor reads a repository name with a slash only when it is encoded twice.
            twice = quote(quote(name, safe=""), safe="")
            return (
                f"{api.base}/api/v2.0/projects/{project}/repositories/{twice}/artifacts"
                f"?page=1&page_size={PAGE_SIZE}&with_tag=true"
            )
        with self._lock:
            owner = self._owners.get((api.base, project), "orgs")
        return _github_url(api.base, owner, project, name)

    def _page(
        self, endpoint: Endpoint, api: PushApi, cursor: str, what: str, page: int
    ) -> tuple[list[PushedTag], str | None]:
        if api.ecr is None:
            return self._read(api, self._get(endpoint, api, cursor, what), what, page)
        from imagebot.registry.ecr import signed_request

        url = f"{api.base}/"
        body, headers = signed_request(api.ecr, url, endpoint.repository, cursor, self._now())
        reply = self._transport.request(
            "api",
            url,
            what=what,
            scope="",
            max_bytes=MAX_PAGE_BYTES,
            method="POST",
            headers=headers,
            body=body,
            authenticate=False,
        )
        return ecr_page(reply.body, what)

    def _get(self, endpoint: Endpoint, api: PushApi, url: str, what: str) -> Reply:
        try:
            return self._request(api, url, what)
        except RegistryNotFound:
            project, _, name = endpoint.repository.partition("/")
            if api.kind != "github" or f"/orgs/{project}/" not in url:
                raise
        # A user's packages live under /users/, an organisation's under /orgs/: the name does
        # not say which, so a 404 from one asks the other once, and the answer is remembered.
        reply = self._request(api, _github_url(api.base, "users", project, name), what)
        with self._lock:
            self._owners[(api.base, project)] = "users"
        return reply

    def _request(self, api: PushApi, url: str, what: str) -> Reply:
        return self._transport.request(
            "api",
            url,
            what=what,
            scope="",
            max_bytes=MAX_PAGE_BYTES,
            headers=api.headers,
            authenticate=False,
        )

    @staticmethod
    def _read(
        api: PushApi, reply: Reply, what: str, page: int
    ) -> tuple[list[PushedTag], str | None]:
        """A page's tags and the next page's URL (None: the last page)."""
        if api.kind == "quay":
            tags, more = quay_page(reply.body, what)
            following = reply.url.replace(f"?page={page}&", f"?page={page + 1}&", 1)
            return tags, following if more and following != reply.url else None
        tags = (
            harbor_page(reply.body, what) if api.kind == "harbor" else github_page(reply.body, what)
        )
        link = next_link(reply.headers.get("link"), reply.url, what)
        if link is not None or api.kind == "github":
            return tags, link
        total = reply.headers.get("x-total-count", "")
        more = total.isdigit() and page * PAGE_SIZE < int(total)
        return tags, reply.url.replace(f"?page={page}&", f"?page={page + 1}&", 1) if more else None


def _github_url(base: str, owner_kind: str, owner: str, name: str) -> str:
    package = quote(name, safe="")
    return (
        f"{base}/{owner_kind}/{owner}/packages/container/{package}/versions"
        f"?per_page={PAGE_SIZE}&page=1"
    )
