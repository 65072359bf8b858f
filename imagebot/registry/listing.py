"""Tag listing: ``/v2/<name>/tags/list`` with ``Link`` pagination, and Docker Hub's tag API.

Both follow pages up to the configured page and tag bounds and say so when they stop early.
The Hub API also gives each tag's digest, push time and platforms without counting as a pull,
and is ordered newest first, so the caller may stop paging once it has what it needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urljoin, urlsplit

from imagebot.config import RegistrySettings
from imagebot.errors import RegistryAnswerError
from imagebot.records import record
from imagebot.refs import is_valid_tag
from imagebot.registry.answers import load_object, parse_time
from imagebot.registry.endpoints import Endpoint, hub_tags_url
from imagebot.registry.transport import Transport

if TYPE_CHECKING:
    from imagebot.registry.pushpages import PushedTag

T = TypeVar("T")

MAX_PAGE_BYTES = 16 << 20
PAGE_SIZE = 1000
MAX_LINK_CHARS = 8192
_LINK = re.compile(r"\s*<([^<>]*)>(.*)", re.DOTALL)
_REL = re.compile(r';\s*rel\s*=\s*(?:"([^"]*)"|([^\s;]*))', re.IGNORECASE)


def next_link(header: str | None, current_url: str, what: str = "the tag list") -> str | None:
    """The ``rel="next"`` target of a ``Link`` header, resolved against the current URL.

    The header is the registry's to write: a long one is refused rather than scanned (it is
    joined from every ``Link`` line), each link is read in linear time, and a target on another
    scheme or host is refused, so a page cannot send imagebot to ask some other server.
    """
    if not header:
        return None
    if len(header) > MAX_LINK_CHARS:
        raise RegistryAnswerError(f"{what}: a Link header of {len(header)} characters; refused")
    for part in header.split(","):
        link = _LINK.match(part)
        rel = _REL.search(link.group(2)) if link else None
        if (
            link is None
            or rel is None
            or "next" not in (rel.group(1) or rel.group(2)).lower().split()
        ):
            continue
        try:
            target: str = urljoin(current_url, link.group(1).strip())
            here, there = urlsplit(current_url), urlsplit(target)
            same = (here.scheme, here.netloc) == (there.scheme, there.netloc)
        except ValueError:
            same = False
        if not same:
            raise RegistryAnswerError(
                f"{what}: the Link header's next page {link.group(1)[:100]!r} is not on "
                f"{urlsplit(current_url).netloc}; refused"
            )
        return target
    return None


@dataclass(slots=True)
class Listing:
    """A repository's tags, and the push times Google's tag list carries (``pushed``)."""

    tags: list[str] = field(default_factory=list)
    warning: str | None = None
    pushed: dict[str, PushedTag] = field(default_factory=dict)


def truncated(what: str, count: int, bound: str) -> str:
    return (
        f"{what}: stopped listing after {count} tags ({bound} reached); newer tags may be "
        f"missing, raise registries.{bound} to see them all"
    )


def list_tags(
    transport: Transport,
    endpoint: Endpoint,
    settings: RegistrySettings,
    keep: Collection[str] = (),
    *,
    times: bool = False,
) -> Listing:
    """Every tag of the repository, following ``Link`` pages within the bounds; tags in
    ``keep`` (the deployed ones) stay even past ``max_tags``. ``times``: also read the push
    times gcr.io and Artifact Registry put in the same answer (no request of its own)."""
    what = f"the tags of {endpoint.name}"
    url: str | None = endpoint.url(f"tags/list?n={PAGE_SIZE}")
    listing, seen, pages = Listing(), set[str](), 0
    while url is not None:
        if pages >= settings.max_tag_pages:
            listing.warning = truncated(what, len(listing.tags), "max_tag_pages")
            break
        reply = transport.request(
            "list",
            url,
            what=what,
            scope=endpoint.scope,
            max_bytes=MAX_PAGE_BYTES,
            headers={"Accept": "application/json"},
        )
        pages += 1
        data = load_object(reply.body, what)
        if times:
            from imagebot.registry.pushpages import google_times  # gcr.io's and GAR's alone

            listing.pushed.update(google_times(data))
        for tag in _tags_of(data, what):
            if tag not in seen:
                seen.add(tag)
                listing.tags.append(tag)
        if len(listing.tags) >= settings.max_tags:
            listing.tags = capped(listing.tags, settings.max_tags, keep, str)
            listing.warning = truncated(what, settings.max_tags, "max_tags")
            break
        url = next_link(reply.headers.get("link"), reply.url, what)
    return listing


def capped(tags: list[T], cap: int, keep: Collection[str], name: Callable[[T], str]) -> list[T]:
    """The first ``cap`` tags, plus any tag in ``keep`` past them: ``max_tags`` must never cut
    off a deployed tag, or a time-ordered policy would lose what it compares against."""
    return tags[:cap] + [tag for tag in tags[cap:] if name(tag) in keep]


def _page_tags(body: bytes, what: str) -> list[str]:
    return _tags_of(load_object(body, what), what)


def _tags_of(data: dict[str, object], what: str) -> list[str]:
    """A page's valid tags; entries that are not tag strings are skipped (a registry may hold
    names another client's grammar allowed), an answer without a tag list is refused."""
    tags = data.get("tags")
    if tags is None and isinstance(data.get("name"), str):
        return []  # a repository without tags answers "tags": null
    if not isinstance(tags, list):
        raise RegistryAnswerError(f"{what}: the answer has no 'tags' list")
    return [t for t in tags if isinstance(t, str) and is_valid_tag(t)]


@record
class HubTag:
    """One tag as the Hub API describes it: digest, push time and per-platform digests."""

    name: str
    digest: str | None
    pushed: datetime | None
    platforms: dict[str, str]


def _hub_tag(entry: object) -> HubTag | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        return None
    if not is_valid_tag(entry["name"]):
        return None
    from imagebot.registry.manifests import platform_name  # Docker Hub's listing alone

    platforms: dict[str, str] = {}
    images = entry.get("images")
    for image in images if isinstance(images, list) else []:
        name = platform_name(image)
        if name and isinstance(image.get("digest"), str):
            platforms.setdefault(name, image["digest"])
    digest = entry.get("digest")
    pushed = parse_time(entry.get("tag_last_pushed")) or parse_time(entry.get("last_updated"))
    return HubTag(entry["name"], digest if isinstance(digest, str) else None, pushed, platforms)


def list_hub_tags(
    transport: Transport,
    endpoint: Endpoint,
    settings: RegistrySettings,
    enough: Callable[[Sequence[HubTag]], bool] = lambda _: False,
    keep: Collection[str] = (),
) -> tuple[list[HubTag], str | None]:
    """Tags from ``hub.docker.com``, newest update first; stops early once ``enough`` says so."""
    what = f"the tags of {endpoint.name} (Docker Hub API)"
    url: str | None = hub_tags_url(endpoint.repository)
    found: list[HubTag] = []
    pages = 0
    while url is not None:
        if pages >= settings.max_tag_pages:
            return found, truncated(what, len(found), "max_tag_pages")
        reply = transport.request(
            "hub",
            url,
            what=what,
            scope="",
            max_bytes=MAX_PAGE_BYTES,
            headers={"Accept": "application/json"},
            authenticate=False,
        )
        pages += 1
        data = load_object(reply.body, what)
        results = data.get("results")
        if not isinstance(results, list):
            raise RegistryAnswerError(f"{what}: the Hub's answer has no 'results' list")
        found.extend(t for t in map(_hub_tag, results) if t is not None)
        if len(found) >= settings.max_tags:
            kept = found[: settings.max_tags] + [
                t for t in found[settings.max_tags :] if t.name in keep
            ]
            return kept, truncated(what, settings.max_tags, "max_tags")
        if enough(found):
            break
        nxt = data.get("next")
        url = nxt if isinstance(nxt, str) and nxt.startswith("https://") else None
    return found, None
