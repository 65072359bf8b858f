"""Creation time, digest and platforms of one tag, paying for each immutable fact once ever.

A tag's manifest (or index) is fetched to learn its digest; everything behind a digest (index
children, config platform, creation time) comes from the ``MetadataCache`` when known, so a
config blob is downloaded at most once per digest, across cycles and processes. Every body is
checked against the digest it claims, and a manifest's digest is always the sha256 of its
bytes. Listing tags and choosing which tags to resolve is the client's job.

An answer that arrived but cannot be used (not JSON, the wrong shape, bytes that do not match
their digest) raises a ``RegistryError`` marked ``permanent``: asking again gets the same bytes,
so it is a problem for that image, not a passing fault to retry.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime

from imagebot.errors import RegistryAnswerError, RegistryError
from imagebot.model import TagFacts
from imagebot.registry.cache import DigestFacts, MetadataCache, TagRecord
from imagebot.registry.endpoints import Endpoint
from imagebot.registry.manifests import (
    ACCEPT_ANY,
    ACCEPT_IMAGE,
    MAX_CONFIG_BYTES,
    MAX_MANIFEST_BYTES,
    ImageManifest,
    Index,
    parse_config,
    parse_manifest,
    select_platform,
)
from imagebot.registry.transport import Transport


def malformed(error: RegistryError) -> RegistryAnswerError:
    """``error`` as an unusable answer: retrying cannot help until the content changes."""
    return error if isinstance(error, RegistryAnswerError) else RegistryAnswerError(str(error))


def _sha256(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _matches(named: str, body: bytes) -> bool:
    """Whether ``algorithm:hex`` names ``body``; an algorithm the OCI spec does not register
    cannot be checked, so it never matches."""
    algorithm, _, hexpart = named.partition(":")
    if algorithm not in ("sha256", "sha512"):
        return False
    return hashlib.new(algorithm, body).hexdigest() == hexpart.lower()


class Resolver:
    """Fetches manifests and configs for tags; shares one lock per digest so concurrent scans of
    tags naming the same image download its config once."""

    def __init__(self, transport: Transport, cache: MetadataCache, platform: str) -> None:
        self.transport, self.cache, self.platform = transport, cache, platform
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def manifest(
        self,
        endpoint: Endpoint,
        reference: str,
        accept: str = ACCEPT_ANY,
        *,
        expect: str | None = None,
    ) -> tuple[str, Index | ImageManifest]:
        """GET a manifest by tag or digest: its sha256 digest and parsed content. The bytes must
        match every digest named for them: the answer's header, a digest reference, ``expect``."""
        what = f"manifest {endpoint.name}{'@' if ':' in reference else ':'}{reference}"
        reply = self.transport.request(
            "manifest",
            endpoint.url(f"manifests/{reference}"),
            what=what,
            scope=endpoint.scope,
            max_bytes=MAX_MANIFEST_BYTES,
            headers={"Accept": accept},
        )
        # The digest is always the hash of the bytes received: a header or a reference that
        # names other bytes is a lying or broken answer, refused before anything is cached.
        digest = _sha256(reply.body)
        self.cache.note_verified(digest)  # these bytes were hashed, whatever was claimed
        claimed = reply.headers.get("docker-content-digest")
        by_digest = reference if ":" in reference else None  # a tag never holds a colon
        for named in (claimed, by_digest, expect):
            if named and not _matches(named, reply.body):
                raise RegistryAnswerError(
                    f"{what}: the content does not match its digest ({named} was named, "
                    f"the bytes received are {digest}); refused"
                )
        try:
            parsed = parse_manifest(reply.body, reply.headers.get("content-type", ""), what)
        except RegistryError as error:
            raise malformed(error) from error.__cause__
        return digest, parsed

    def resolve_tag(self, endpoint: Endpoint, tag: str) -> TagRecord:
        """The tag's digest now and the creation time of its image for our platform."""
        digest, parsed = self.manifest(endpoint, tag)
        return TagRecord(digest, self.created(endpoint, digest, parsed), self.platform)

    def created(
        self, endpoint: Endpoint, digest: str, parsed: Index | ImageManifest
    ) -> datetime | None:
        if isinstance(parsed, ImageManifest):
            return self.image_facts(endpoint, digest, parsed).created
        if self.cache.facts(digest) is None:
            self.cache.put_facts(digest, DigestFacts(children=parsed.children))
        child = select_platform(parsed, self.platform)
        if child is None:
            return None  # the index offers no image for our platform: it can never be chosen
        known = self.cache.facts(child)
        if known is not None:
            return known.created
        _, child_manifest = self.manifest(endpoint, child, ACCEPT_IMAGE)
        if not isinstance(child_manifest, ImageManifest):
            raise RegistryAnswerError(
                f"{endpoint.name}@{child}: an index inside an index; unsupported"
            )
        return self.image_facts(endpoint, child, child_manifest).created

    def image_facts(self, endpoint: Endpoint, digest: str, manifest: ImageManifest) -> DigestFacts:
        """Facts of an image manifest: from the cache, or from its config blob (fetched once)."""
        config = manifest.config_digest
        with self._lock:
            lock = self._locks.setdefault(config, threading.Lock())
        with lock:
            known = self.cache.facts(digest) or self.cache.facts(config)
            if known is not None and known.children is None:
                if self.cache.facts(digest) is None:
                    self.cache.put_facts(digest, known)
                return known
            what = f"config {config} of {endpoint.name}"
            reply = self.transport.request(
                "blob",
                endpoint.url(f"blobs/{config}"),
                what=what,
                scope=endpoint.scope,
                max_bytes=MAX_CONFIG_BYTES,
            )
            if config.startswith("sha256:") and _sha256(reply.body) != config:
                raise RegistryAnswerError(f"{what}: the content does not match its digest; refused")
            try:
                parsed = parse_config(reply.body, what)
            except RegistryError as error:
                raise malformed(error) from error.__cause__
            facts = DigestFacts(created=parsed.created, platform=parsed.platform)
            self.cache.put_facts(config, facts)
            self.cache.put_facts(digest, facts)
            return facts

    def cached(self, digest: str) -> TagFacts | None:
        """The facts behind ``digest`` from the cache alone; None when any is missing."""
        known = self.cache.facts(digest)
        if known is None:
            return None
        if known.children is None:
            platforms = (known.platform,) if known.platform else ()
            return TagFacts(digest, platforms, known.created)
        index = Index(known.children)
        child = select_platform(index, self.platform)
        child_facts = self.cache.facts(child) if child is not None else None
        if child is not None and child_facts is None:
            return None
        return TagFacts(digest, index.platforms, child_facts.created if child_facts else None)

    def examine(self, endpoint: Endpoint, tag: str, *, expect: str | None = None) -> TagFacts:
        """One manifest GET for the tag; what lies behind its digest (index children, config
        platform and creation time) comes from the cache when known, else is fetched once."""
        digest, parsed = self.manifest(endpoint, tag, expect=expect)
        created = self.created(endpoint, digest, parsed)
        if isinstance(parsed, Index):
            return TagFacts(digest, parsed.platforms, created)
        platform = self.image_facts(endpoint, digest, parsed).platform  # cached by created()
        return TagFacts(digest, (platform,) if platform else (), created)

    def platforms(self, endpoint: Endpoint, tag: str) -> tuple[str, ...]:
        """Platforms the tag offers: an index's children, or the one image's config platform."""
        digest, parsed = self.manifest(endpoint, tag)
        if isinstance(parsed, Index):
            if self.cache.facts(digest) is None:
                self.cache.put_facts(digest, DigestFacts(children=parsed.children))
            return parsed.platforms
        platform = self.image_facts(endpoint, digest, parsed).platform
        return (platform,) if platform else ()
