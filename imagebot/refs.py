"""Image references: parse, normalise and format them as the distribution reference grammar does.

``nginx`` means ``docker.io/library/nginx``; ``index.docker.io`` is ``docker.io``; the first path
component is a registry host only when it contains ``.`` or ``:``, is ``localhost`` or has upper
case letters. A reference keeps the name exactly as the user wrote it, so a rewrite changes the
tag or digest and nothing else. Pure code: no network.
"""

from __future__ import annotations

import ipaddress
import re
import sys

from imagebot.errors import ReferenceError_
from imagebot.records import record

DOCKER_HUB = "docker.io"
_HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)

TAG_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
_TAG = re.compile(TAG_PATTERN)
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:.]+\])(?::([0-9]+))?"
)
MAX_PORT = 65535
MAX_NAME_LENGTH = 255


def is_valid_tag(tag: str) -> bool:
    """True for tags a registry accepts: ``[A-Za-z0-9_][A-Za-z0-9._-]{0,127}``."""
    return _TAG.fullmatch(tag) is not None


def is_valid_digest(digest: str) -> bool:
    return _DIGEST.fullmatch(digest) is not None


def normalize_registry(host: str) -> str:
    """Map Docker Hub's many host names to ``docker.io``; keep others as written (lower case)."""
    lowered = host.lower()
    return DOCKER_HUB if lowered in _HUB_ALIASES else lowered


@record
class ImageRef:
    """A parsed image reference.

    ``registry`` and ``repository`` are normalised (``docker.io``, ``library/nginx``) so that two
    spellings of one image compare equal through ``name``; ``written_name`` is the name as it
    stood in the source, which is what a rewrite writes back.
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None
    written_name: str = ""

    @property
    def name(self) -> str:
        """The canonical repository name, e.g. ``docker.io/library/nginx``."""
        return f"{self.registry}/{self.repository}"

    @property
    def familiar_name(self) -> str:
        """The short form people type: ``nginx``, ``demo/flaskapp``, ``ghcr.io/org/app``."""
        if self.registry == DOCKER_HUB:
            return self.repository.removeprefix("library/")
        return self.name

    def with_version(self, tag: str | None, digest: str | None = None) -> str:
        """The reference text for a new tag and/or digest, keeping the name as written."""
        text = self.written_name or self.familiar_name
        if tag:
            text += f":{tag}"
        if digest:
            text += f"@{digest}"
        return text

    def __str__(self) -> str:
        return self.with_version(self.tag, self.digest)


def parse_reference(text: str) -> ImageRef:
    """Parse ``[host[:port]/]path[:tag][@digest]``; the error names the part that is wrong."""
    if not text or text != text.strip():
        raise ReferenceError_(f"invalid image reference {text!r}: empty or surrounded by spaces")
    rest = text
    digest: str | None = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not is_valid_digest(digest):
            raise ReferenceError_(
                f"invalid image reference {text!r}: digest {digest!r} is not ALGORITHM:HEX"
            )
    tag: str | None = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not is_valid_tag(tag):
            raise ReferenceError_(
                f"invalid image reference {text!r}: tag {tag!r} is not a valid tag "
                f"(letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')"
            )
    name = rest
    if not name:
        raise ReferenceError_(f"invalid image reference {text!r}: the repository name is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ReferenceError_(
            f"invalid image reference {text!r}: name longer than {MAX_NAME_LENGTH} characters"
        )
    registry, path = _split_domain(name)
    if registry is not None:
        _check_host(text, registry)
    components = path.split("/")
    for index, component in enumerate(components):
        if not component:
            before = "/".join(([registry] if registry else []) + components[:index])
            where = f"after {before + '/'!r}" if before else "at the start"
            raise ReferenceError_(
                f"invalid image reference {text!r}: empty path component {where} "
                f"(a user or organisation name is missing?)"
            )
        if not _PATH_COMPONENT.fullmatch(component):
            raise ReferenceError_(
                f"invalid image reference {text!r}: path component {component!r} must be lower "
                f"case letters and digits separated by '.', '_', '__' or '-'"
            )
    host = normalize_registry(registry) if registry else DOCKER_HUB
    if host == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    # A repository's references repeat across files (and a scan's results cross a pipe, where
    # pickle writes one object once): one string each, not one per reference.
    intern = sys.intern
    return ImageRef(
        registry=intern(host),
        repository=intern(path),
        tag=intern(tag) if tag is not None else None,
        digest=digest,
        written_name=intern(name),
    )


def _check_host(text: str, registry: str) -> None:
    """The grammar allows any digits after the colon; a port outside 1-65535 names no server
    (and used to crash the HTTP layer far from the file that held it)."""
    host = _HOST.fullmatch(registry)
    if host is None:
        raise ReferenceError_(f"invalid image reference {text!r}: {registry!r} is not a valid host")
    if registry.startswith("["):
        address = registry[1 : registry.index("]")]
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            raise ReferenceError_(
                f"invalid image reference {text!r}: [{address[:60]}] is not an IPv6 address"
            ) from None
    port = host.group(1)
    if port is not None and not (len(port) <= 5 and 1 <= int(port) <= MAX_PORT):
        raise ReferenceError_(
            f"invalid image reference {text!r}: port {port[:20]} of {registry[:80]!r} is not "
            f"between 1 and {MAX_PORT}"
        )


def _split_domain(name: str) -> tuple[str | None, str]:
    first, sep, remainder = name.partition("/")
    if not sep:
        return None, name
    if "." in first or ":" in first or first == "localhost" or first.lower() != first:
        return first, remainder
    return None, name


def matches_platform(candidate: str, wanted: str) -> bool:
    """``linux/arm64`` matches ``linux/arm64/v8``; a wanted variant must match exactly. One rule
    for the platform a registry client chooses and the platforms a policy requires."""
    if candidate == wanted:
        return True
    return wanted.count("/") == 1 and candidate.startswith(wanted + "/")
