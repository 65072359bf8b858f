"""Read manifests, indexes and image configs: media types, platforms, creation times.

Parses the JSON a registry returned into small values: an index's platforms and children, an
image manifest's config digest, a config's creation time (the ``org.opencontainers.image.created``
label first, then ``created``). Validates shapes and digests so a malformed answer becomes a
clear ``RegistryAnswerError`` (a digest from an answer ends up in a URL: it must be one). No HTTP
here.
"""

from __future__ import annotations

import re
from datetime import datetime

from imagebot.errors import RegistryAnswerError
from imagebot.records import record
from imagebot.refs import matches_platform
from imagebot.registry.answers import load_object, parse_time

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
ACCEPT_ANY = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))
ACCEPT_IMAGE = ", ".join((OCI_MANIFEST, DOCKER_MANIFEST))

MAX_MANIFEST_BYTES = 4 << 20  # the OCI distribution spec's suggested manifest bound
MAX_CONFIG_BYTES = 8 << 20

# The OCI image spec's digest grammar: what a manifest may name (and imagebot puts in a URL path).
_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{1,256}")

CREATED_LABELS = ("org.opencontainers.image.created", "org.label-schema.build-date")


@record
class Index:
    """A multi-platform index: platform (``os/arch[/variant]``) -> child manifest digest."""

    children: dict[str, str]

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(self.children)


@record
class ImageManifest:
    config_digest: str


def platform_name(platform: object) -> str | None:
    if not isinstance(platform, dict):
        return None
    os_name, arch = platform.get("os"), platform.get("architecture")
    if not isinstance(os_name, str) or not isinstance(arch, str) or os_name == "unknown":
        return None  # attestation manifests carry unknown/unknown: not a runnable platform
    variant = platform.get("variant")
    return (
        f"{os_name}/{arch}/{variant}"
        if isinstance(variant, str) and variant
        else f"{os_name}/{arch}"
    )


def parse_manifest(body: bytes, content_type: str, what: str) -> Index | ImageManifest:
    """An index or an image manifest, decided by media type (header, then body)."""
    data = load_object(body, what)
    media_type = content_type.split(";", maxsplit=1)[0].strip() or str(data.get("mediaType", ""))
    if media_type not in INDEX_TYPES | MANIFEST_TYPES:
        media_type = str(data.get("mediaType", ""))
    manifests = data.get("manifests")
    if media_type in INDEX_TYPES or (not media_type and isinstance(manifests, list)):
        if not isinstance(manifests, list):
            raise RegistryAnswerError(f"{what}: an index without a 'manifests' list")
        children: dict[str, str] = {}
        for entry in manifests:
            name = platform_name(entry.get("platform")) if isinstance(entry, dict) else None
            digest = entry.get("digest") if isinstance(entry, dict) else None
            if name and isinstance(digest, str):
                children.setdefault(name, _digest(digest, what))
        return Index(children)
    config = data.get("config")
    digest = config.get("digest") if isinstance(config, dict) else None
    if not isinstance(digest, str):
        kind = (media_type or "unknown media type")[:100]
        raise RegistryAnswerError(
            f"{what}: not an image manifest or index ({kind!r}); no config digest"
        )
    return ImageManifest(_digest(digest, what))


def _digest(value: str, what: str) -> str:
    if _DIGEST.fullmatch(value) is None:
        raise RegistryAnswerError(f"{what}: {value[:80]!r} is not a digest (ALGORITHM:HEX)")
    return value


def select_platform(index: Index, wanted: str) -> str | None:
    """The child digest for ``wanted``, or None when the index does not offer it."""
    for name, digest in index.children.items():
        if matches_platform(name, wanted):
            return digest
    return None


@record
class ConfigFacts:
    created: datetime | None
    platform: str | None


def parse_config(body: bytes, what: str) -> ConfigFacts:
    data = load_object(body, what)
    config = data.get("config")
    labels = config.get("Labels") if isinstance(config, dict) else None
    created: datetime | None = None
    if isinstance(labels, dict):
        for label in CREATED_LABELS:
            created = parse_time(labels.get(label))
            if created is not None:
                break
    return ConfigFacts(created or parse_time(data.get("created")), platform_name(data))
