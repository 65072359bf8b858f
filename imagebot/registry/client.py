"""The registry client reconcile calls: scan repositories, verify a digest, check platforms.

``scan`` merges queries per repository into one listing per cycle, takes push times from the
registry's own API where it has one (``pushtimes``), else resolves creation times only for tags
a time-ordered policy wants and the cache does not know yet, and scans repositories
concurrently. Each repository's trouble comes back as data in its ``RepoScan``. It knows nothing
about policies beyond the ``wants`` predicate a caller hands in.

What only some cycles need loads on first use: the manifest and config reader (``metadata``:
creation times, digests, platforms), the registries' push-time APIs (``pushtimes``), and the
operator's shared answers (``fleet``, passed in by its owner). A semver cycle against a plain
registry reads tag lists alone, and its process need not hold the rest (~0.15 MB of modules).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeGuard, TypeVar

import requests

from imagebot.config import RegistrySettings
from imagebot.errors import RateLimited, RegistryAuthError, RegistryError, RegistryNotFound
from imagebot.model import Digest, TagFacts, TagInfo
from imagebot.refs import ImageRef
from imagebot.registry.auth import AuthFlow
from imagebot.registry.blocks import BlockStore
from imagebot.registry.cache import MetadataCache, TagRecord
from imagebot.registry.credentials import CredentialStore
from imagebot.registry.deadline import DeadlineAdapter
from imagebot.registry.endpoints import Endpoint, rate_limit_for, resolve
from imagebot.registry.limits import RateLimitInfo, RequestStats
from imagebot.registry.listing import HubTag
from imagebot.registry.lists import Lists
from imagebot.registry.scans import RepoQuery, RepoScan
from imagebot.registry.session import ProcessSession, Progress, ProgressCounter
from imagebot.registry.transport import Transport

if TYPE_CHECKING:
    from imagebot.registry.fleet import SharedAnswers
    from imagebot.registry.metadata import Resolver
    from imagebot.registry.pushpages import PushedTag
    from imagebot.registry.pushtimes import PushTimeLister

log = logging.getLogger(__name__)
_Made = TypeVar("_Made")


@dataclass(slots=True)
class _Merged:
    image: ImageRef
    needs_created: bool = False
    wants: list[Callable[[str], bool] | None] = field(default_factory=list)
    current: set[str] = field(default_factory=set)

    def wanted(self, tag: str) -> bool:
        if not self.needs_created:
            return False
        return tag in self.current or any(w is None or w(tag) for w in self.wants)


class RegistryClient:
    """Talks to registries for one process; reuse it across cycles to keep tokens and limits."""

    def __init__(
        self,
        settings: RegistrySettings,
        *,
        session: requests.Session | None = None,
        cache: MetadataCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        credentials: CredentialStore | None = None,
        workers: int = 16,
        shared: SharedAnswers | None = None,
    ) -> None:
        self.settings = settings
        self._own_session = session is None
        if session is None:
            # Its connections obey each request's whole deadline (an injected session's cannot
            # be cut off mid-read; its answers are refused once late).
            session = ProcessSession()
            session.mount("https://", DeadlineAdapter(pool_maxsize=workers))
            session.mount("http://", DeadlineAdapter(pool_maxsize=workers))
        self._session = session
        self.cache = cache if cache is not None else MetadataCache(settings.cache_dir)
        credentials = credentials or CredentialStore(settings)
        auth = AuthFlow(credentials, clock)
        # Hosts a 429 shut are remembered next to the metadata cache, for the next process.
        home = self.cache.directory.parent if self.cache.directory is not None else None
        blocks = BlockStore(home, wall) if home is not None else None
        self._transport = Transport(
            settings, session, auth, clock=clock, sleep=sleep, blocks=blocks
        )
        # Tag lists, shared with the process's other clients (the operator's automations) when
        # ``shared`` is given; the owner sets ``lists.freshness`` for each cycle.
        self.lists = Lists(self._transport, settings, credentials, shared)
        self._credentials = credentials
        self._resolver_made: Resolver | None = None
        self._pushed_made: PushTimeLister | None = None
        self._making = threading.Lock()
        self._workers = max(1, workers)
        self._hub_platforms: dict[tuple[str, str], tuple[str, ...]] = {}
        self._lock = threading.Lock()

    @property
    def _resolver(self) -> Resolver:
        """Manifests and config blobs, read for creation times, digests and platforms."""
        from imagebot.registry.metadata import Resolver

        return self._once(
            "_resolver_made", lambda: Resolver(self._transport, self.cache, self.settings.platform)
        )

    @property
    def _pushed(self) -> PushTimeLister:
        """The registries' own push-time APIs (Docker Hub's aside), for time-ordered policies."""
        from imagebot.registry.pushtimes import PushTimeLister

        return self._once(
            "_pushed_made",
            lambda: PushTimeLister(self._transport, self.settings, self._credentials),
        )

    def _once(self, attribute: str, make: Callable[[], _Made]) -> _Made:
        """The part kept in ``attribute``, made on first use, once however many threads ask:
        a second one would split the caches and answers the first holds."""
        made: _Made | None = getattr(self, attribute)
        if made is None:
            with self._making:
                made = getattr(self, attribute)
                if made is None:
                    made = make()
                    setattr(self, attribute, made)
        return made

    @property
    def stats(self) -> RequestStats:
        return self._transport.stats

    @property
    def rate_limits(self) -> dict[str, RateLimitInfo]:
        return dict(self._transport.rate_limits)

    def adopt_blocks(self, other: RegistryClient) -> None:
        """Carry over the hosts a 429 shut from the client this one replaces."""
        self._transport.adopt_blocks(other._transport)

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def scan(
        self, requests: Sequence[RepoQuery], *, progress: Progress | None = None
    ) -> dict[str, RepoScan]:
        """One cycle: each distinct repository listed once, concurrently; keyed by ImageRef.name."""
        self._transport.begin_cycle()
        merged: dict[str, _Merged] = {}
        for query in requests:
            entry = merged.setdefault(query.image.name, _Merged(query.image))
            entry.current.update(query.current)
            if query.needs_created:
                entry.needs_created = True
                entry.wants.append(query.wants)
        counter = ProgressCounter(progress)
        # Threads past the hosts' concurrency limits would only wait for a slot, and each one
        # costs stack pages (~0.1 MB of peak RSS): size the pools to what can be in flight.
        hosts = {resolve(entry.image, self.settings).host for entry in merged.values()}
        in_flight = sum(rate_limit_for(self.settings, host).max_concurrency for host in hosts)
        threads = max(1, min(self._workers, in_flight))
        with (
            ThreadPoolExecutor(
                max(1, min(threads, len(merged))), thread_name_prefix="imagebot-repo"
            ) as repos,
            ThreadPoolExecutor(threads, thread_name_prefix="imagebot-meta") as metadata,
        ):
            futures = {
                name: repos.submit(self._scan_one, entry, metadata, counter)
                for name, entry in merged.items()
            }
            return {name: future.result() for name, future in futures.items()}

    def _scan_one(
        self, entry: _Merged, pool: ThreadPoolExecutor, counter: ProgressCounter
    ) -> RepoScan:
        endpoint = resolve(entry.image, self.settings)
        try:
            if endpoint.hub_api:
                try:
                    return self._scan_hub(endpoint, entry)
                except (RegistryNotFound, RegistryAuthError) as error:
                    # Private repositories are not visible to the anonymous Hub API.
                    log.debug(
                        "Hub API unusable for %s (%s); using the registry", endpoint.name, error
                    )
            api = self._pushed.api(endpoint) if entry.needs_created else None
            if api is not None:
                known = self._pushed.relisted(endpoint, entry.wanted, keep=entry.current)
                if known is not None:
                    return self._scan_api(endpoint, entry, *known)
                try:
                    found, warning = self._pushed.tags(endpoint, api, keep=entry.current)
                    self._pushed.keep(endpoint, [t for t in found if entry.wanted(t.name)])
                    return self._scan_api(endpoint, entry, found, warning)
                except RegistryError as error:  # a 429 from the API's host too: ask the registry
                    self._pushed.refused(endpoint, api, error)
            return self._scan_registry(endpoint, entry, pool, counter)
        except RateLimited as error:
            cached = self.cache.tags(endpoint.name)
            tags = tuple(TagInfo(tag, record.created) for tag, record in cached.items())
            return RepoScan(tags, stale=True, problem=str(error))
        except RegistryError as error:
            return RepoScan(problem=str(error), permanent=error.permanent)

    def _scan_hub(self, endpoint: Endpoint, entry: _Merged) -> RepoScan:
        def enough(found: Sequence[HubTag]) -> bool:
            # Newest first: once a wanted tag is seen, older pages cannot hold a newer one.
            only_time_ordered = entry.needs_created and None not in entry.wants
            return only_time_ordered and any(entry.wanted(t.name) for t in found)

        found, warning = self.lists.hub_tags(endpoint, entry.current, enough)
        with self._lock:
            for hub_tag in found:
                self._hub_platforms[(endpoint.name, hub_tag.name)] = tuple(hub_tag.platforms)
        from imagebot.registry.pushpages import PushedTag

        pushed = [PushedTag(t.name, t.digest, t.pushed) for t in found]
        return self._scan_api(endpoint, entry, pushed, warning)

    def _scan_api(
        self,
        endpoint: Endpoint,
        entry: _Merged,
        found: Sequence[PushedTag],
        warning: str | None,
    ) -> RepoScan:
        """A scan from an API that gave every tag's push time (Docker Hub, Quay, Harbor,
        GitHub): no manifest or blob requests but for deployed tags it did not list."""

        # An API's digest is a claim (from another host, or not from the bytes): passed on only
        # when its bytes were hashed before; otherwise ``digest()`` verifies it for a pin.
        def verified(digest: str | None) -> TypeGuard[str]:
            return digest is not None and self.cache.verified(endpoint.name, digest)

        tags = tuple(
            TagInfo(t.name, t.pushed, Digest(t.digest) if verified(t.digest) else None)
            for t in found
        )
        unlisted, failed = self._unlisted_current(endpoint, entry, {t.name for t in found})
        # The Hub list stops early (newest first), so a deployed tag is often on a page not
        # read (or the API lists only tagged artifacts): its record is kept so the next cycle
        # need not fetch its manifest again.
        if unlisted and unlisted != self.cache.tags(endpoint.name):
            self.cache.put_tags(endpoint.name, unlisted)
        return RepoScan(
            tags,
            warnings=(warning,) if warning else (),
            unlisted={tag: TagInfo(tag, record.created) for tag, record in unlisted.items()},
            failed=failed,
        )

    def _unlisted_current(
        self, endpoint: Endpoint, entry: _Merged, listed: set[str]
    ) -> tuple[dict[str, TagRecord], dict[str, RegistryError]]:
        """Records of current tags the listing lacks, from the cache or one manifest fetch
        each, for time-ordered policies (Flux v1 downgraded when the deployed tag was deleted
        or cut off the list), and why a fetch failed."""
        unlisted: dict[str, TagRecord] = {}
        failed: dict[str, RegistryError] = {}
        if not entry.needs_created:
            return unlisted, failed
        known = self.cache.tags(endpoint.name)
        for tag in sorted(entry.current - listed):
            record = known.get(tag)
            if record is None or record.platform != self.settings.platform:
                try:
                    record = self._resolver.resolve_tag(endpoint, tag)
                except RateLimited:
                    raise
                except RegistryError as error:
                    failed[tag] = error
                    continue
            unlisted[tag] = record
        return unlisted, failed

    def _scan_registry(
        self, endpoint: Endpoint, entry: _Merged, pool: ThreadPoolExecutor, counter: ProgressCounter
    ) -> RepoScan:
        listing = self.lists.tags(
            endpoint,
            entry.current,
            times=entry.needs_created and self._pushed.reads_google(endpoint),
        )
        # Push times from the same answer (gcr.io, Artifact Registry) stand in for manifests.
        pushed = {tag: p.pushed for tag, p in listing.pushed.items() if p.pushed is not None}
        known = self.cache.tags(endpoint.name)
        platform = self.settings.platform
        fresh: dict[str, TagRecord] = {}
        missing = [
            tag
            for tag in listing.tags
            if entry.wanted(tag)
            and tag not in pushed
            and (tag not in known or known[tag].platform != platform)
        ]
        counter.add(len(missing))
        jobs = {tag: pool.submit(self._resolve_counted, endpoint, tag, counter) for tag in missing}
        failures: list[str] = []
        failed: dict[str, RegistryError] = {}
        for tag, job in jobs.items():
            try:
                fresh[tag] = job.result()
            except RateLimited:
                raise
            except RegistryError as error:
                failures.append(f"{tag}: {error}")
                failed[tag] = error
        unlisted, unlisted_failed = self._unlisted_current(endpoint, entry, set(listing.tags))
        failed.update(unlisted_failed)
        records = {
            tag: fresh.get(tag) or known[tag]
            for tag in listing.tags
            if tag in fresh or tag in known
        }
        records.update(unlisted)  # a later cycle still knows a vanished current tag's time
        if records != known:
            self.cache.put_tags(endpoint.name, records)
        tags = tuple(
            TagInfo(
                tag,
                pushed[tag] if tag in pushed else records[tag].created if tag in records else None,
                Digest(fresh[tag].digest) if tag in fresh else None,
            )
            for tag in listing.tags
        )
        warnings = [listing.warning] if listing.warning else []
        if failures:
            warnings.append(
                f"{endpoint.name}: no creation time for {len(failures)} tag(s), which cannot be "
                f"chosen by time; first: {failures[0]}"
            )
        for warning in warnings:
            log.warning("%s", warning)
        return RepoScan(
            tags,
            warnings=tuple(warnings),
            unlisted={tag: TagInfo(tag, record.created) for tag, record in unlisted.items()},
            failed=failed,
            cached_digests={
                tag: Digest(records[tag].digest)
                for tag in listing.tags
                if tag in records and tag not in fresh
            },
            off_platform=self._off_platform(records, listing.tags),
            platform=platform,
        )

    def _off_platform(
        self, records: Mapping[str, TagRecord], listed: Sequence[str]
    ) -> dict[str, tuple[str, ...]]:
        """Listed tags without a creation time because their index lacks our platform."""
        found: dict[str, tuple[str, ...]] = {}
        for tag in listed:
            record = records.get(tag)
            if record is None or record.created is not None:
                continue
            facts = self.cache.facts(record.digest)
            if facts is not None and facts.children is not None:
                from imagebot.registry.manifests import Index, select_platform

                index = Index(facts.children)
                if select_platform(index, self.settings.platform) is None:
                    found[tag] = index.platforms
        return found

    def _resolve_counted(self, endpoint: Endpoint, tag: str, counter: ProgressCounter) -> TagRecord:
        try:
            return self._resolver.resolve_tag(endpoint, tag)
        finally:
            counter.done()

    def digest(self, image: ImageRef, tag: str) -> Digest:
        """The tag's digest now, as the sha256 of manifest bytes received; corrects the cache.

        A HEAD (free on Docker Hub) says which digest the tag names. A digest seen before was
        hashed then; a new one costs one GET, whose bytes must hash to it, and is remembered.
        """
        endpoint = resolve(image, self.settings)
        claimed = self._head(endpoint, tag)
        if claimed and self.cache.verified(endpoint.name, claimed):
            found = claimed
        else:
            # A HEAD's header is a claim; the GET's bytes are the proof: manifest() refuses
            # bytes that do not match the HEAD's digest or the digest its own answer names.
            found, _ = self._resolver.manifest(endpoint, tag, expect=claimed)
        self.cache.keep_verified(found)
        records = self.cache.tags(endpoint.name)
        if tag in records and records[tag].digest != found:
            del records[tag]  # the tag moved: its creation time is resolved again next scan
            self.cache.put_tags(endpoint.name, records)
        return Digest(found)

    def examine(self, image: ImageRef, tag: str) -> TagFacts:
        """The candidate about to be chosen: digest, platforms, creation time. A HEAD names the
        digest (tags move: a multi-arch index is often completed later); a digest seen before
        is answered from the cache, a new one costs the manifest GET (and its config) once."""
        endpoint = resolve(image, self.settings)
        claimed = self._head(endpoint, tag)
        facts = None
        if claimed and self.cache.verified(endpoint.name, claimed):
            facts = self._resolver.cached(claimed)
        if facts is None:
            facts = self._resolver.examine(endpoint, tag, expect=claimed)
        self.cache.keep_verified(facts.digest)
        records = self.cache.tags(endpoint.name)
        known = records.get(tag)
        record = TagRecord(facts.digest, facts.created, self.settings.platform)
        if known is not None and known != record:
            records[tag] = record  # the tag moved: later scans read the new image's time
            self.cache.put_tags(endpoint.name, records)
        return facts

    def _head(self, endpoint: Endpoint, tag: str) -> str | None:
        """The digest a HEAD of the tag's manifest claims (a claim: not verified here)."""
        from imagebot.registry.manifests import ACCEPT_ANY

        reply = self._transport.request(
            "head",
            endpoint.url(f"manifests/{tag}"),
            method="HEAD",
            what=f"manifest {endpoint.name}:{tag}",
            scope=endpoint.scope,
            max_bytes=0,
            headers={"Accept": ACCEPT_ANY},
        )
        return reply.headers.get("docker-content-digest")

    def platforms(self, image: ImageRef, tag: str) -> tuple[str, ...]:
        """``os/arch[/variant]`` the tag offers (for the chosen candidate's multi-arch check)."""
        endpoint = resolve(image, self.settings)
        with self._lock:
            known = self._hub_platforms.get((endpoint.name, tag))
        if known:
            return known
        return self._resolver.platforms(endpoint, tag)
