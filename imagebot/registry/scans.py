"""What reconcile asks a registry for and what it gets back, one repository at a time.

Apart from the client so that planning can name them without loading the client's HTTP stack
(requests and urllib3 take ~0.1 s to import): ``imagebot run`` loads that while its scan is
already under way (``reconcile/forked.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field

from imagebot.errors import RegistryError
from imagebot.model import Digest, TagInfo
from imagebot.records import record
from imagebot.refs import ImageRef


@record
class RepoQuery:
    """What one policy needs from a repository. ``needs_created``: the policy orders by creation
    time (newest wins); creation times are then resolved for the tags ``wants`` accepts (all tags
    when None). ``current``: the tags deployed now, which the listing keeps past ``max_tags``
    and whose creation times are resolved too, listed or not: a time-ordered policy compares
    against them so it never downgrades."""

    image: ImageRef
    needs_created: bool = False
    wants: Callable[[str], bool] | None = None
    current: tuple[str, ...] = ()


@record
class RepoScan:
    """One repository's answer this cycle. ``TagInfo.digest`` is set only when it was seen this
    cycle; a tag known from the cache has none, so a caller pinning it calls ``digest()``.
    ``stale``: the host rate-limited us; ``tags`` are then last cycle's, if any. ``unlisted``:
    current tags the listing lacks, with the creation time the cache or one manifest fetch
    gave (they are not candidates: the tag may be gone). ``failed``: tags whose creation time
    could not be fetched, and why (the error's type and ``permanent`` tell a 404, a refusal or
    a malformed answer from a passing fault). ``cached_digests``: for listed tags the cache
    stood in for, the digest each named when last resolved (with the creation time ``tags``
    carries): fit to show, not to pin, since the tag may have moved since. ``off_platform``:
    listed tags whose index offers no image for ``platform`` (the configured one), with the
    platforms it does offer: they have no creation time, and a caller should say why."""

    tags: tuple[TagInfo, ...] = ()
    stale: bool = False
    problem: str | None = None
    warnings: tuple[str, ...] = ()
    permanent: bool = False
    unlisted: Mapping[str, TagInfo] = field(default_factory=dict)
    failed: Mapping[str, RegistryError] = field(default_factory=dict)
    cached_digests: Mapping[str, Digest] = field(default_factory=dict)
    off_platform: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    platform: str = ""
