"""Read one page of a registry's push-time API: Google's tag list, Quay, Harbor, GitHub, ECR.

Each reader turns an answer into ``PushedTag`` values (tag, digest, push time) and nothing else:
an answer of the wrong shape raises ``RegistryAnswerError`` (the caller then falls back to
manifests), an entry of the wrong shape is skipped, a time that cannot be read is None (that tag
is then never chosen by time). Paging, URLs and credentials are ``pushtimes``'s job.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime

from imagebot.durations import http_date
from imagebot.errors import RegistryAnswerError
from imagebot.records import record
from imagebot.refs import is_valid_tag
from imagebot.registry.answers import load_json, load_object, parse_time


@record
class PushedTag:
    """One tag as a push-time API describes it. ``digest`` is that API's claim, not checked."""

    name: str
    digest: str | None
    pushed: datetime | None


def _when(seconds: float) -> datetime | None:
    """A Unix time as an aware datetime; the epoch (and before) means unknown, as in configs."""
    if not math.isfinite(seconds) or seconds <= 0 or seconds >= 253402300800:  # year 10000
        return None
    return datetime.fromtimestamp(seconds, UTC)


def _number(value: object) -> float | None:
    """An integer or a decimal string (Google writes milliseconds as strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) >= 10**20:
        return None  # float() of a 400-digit JSON integer raises OverflowError
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value.isdigit() and len(value) <= 20:
        return float(value)
    return None


def _tags(names: object) -> Iterable[str]:
    return (
        (n for n in names if isinstance(n, str) and is_valid_tag(n))
        if isinstance(names, list)
        else ()
    )


def _digest(value: object) -> str | None:
    return value if isinstance(value, str) and ":" in value and len(value) <= 200 else None


def google_times(data: dict[str, object]) -> dict[str, PushedTag]:
    """Push times from a gcr.io / Artifact Registry tag list's ``manifest`` map (digest ->
    ``tag`` list, ``timeUploadedMs``, ``timeCreatedMs``); empty when the map is absent. The
    upload time is the push time; the creation time stands in when it is missing."""
    manifests = data.get("manifest")
    found: dict[str, PushedTag] = {}
    if not isinstance(manifests, dict):
        return found
    for digest, entry in manifests.items():
        if not isinstance(entry, dict):
            continue
        ms = _number(entry.get("timeUploadedMs"))
        if ms is None or ms <= 0:
            ms = _number(entry.get("timeCreatedMs"))
        pushed = _when(ms / 1000) if ms is not None else None
        for name in _tags(entry.get("tag")):
            found.setdefault(name, PushedTag(name, _digest(digest), pushed))
    return found


def quay_page(body: bytes, what: str) -> tuple[list[PushedTag], bool]:
    """A page of ``/api/v1/repository/<ns>/<repo>/tag/``: its tags (``start_ts``, else
    ``last_modified``) and whether more pages follow (``has_additional``)."""
    data = load_object(body, what)
    entries = data.get("tags")
    if not isinstance(entries, list):
        raise RegistryAnswerError(f"{what}: Quay's answer has no 'tags' list")
    found = []
    for entry in entries:
        if not isinstance(entry, dict) or not list(_tags([entry.get("name")])):
            continue
        start = _number(entry.get("start_ts"))
        pushed = _when(start) if start is not None else _rfc2822(entry.get("last_modified"))
        found.append(PushedTag(entry["name"], _digest(entry.get("manifest_digest")), pushed))
    return found, data.get("has_additional") is True


def _rfc2822(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 100:
        return None
    when = http_date(value)  # Quay writes "-0000" (RFC 2822: UTC, source zone unknown)
    return _when(when.timestamp()) if when is not None else None


def _entries(body: bytes, what: str, api: str) -> list[object]:
    data = load_json(body, what)
    if not isinstance(data, list):
        raise RegistryAnswerError(f"{what}: {api}'s answer is not a list")
    return data


def harbor_page(body: bytes, what: str) -> list[PushedTag]:
    """A page of Harbor's ``artifacts?with_tag=true``: each tag of each artifact, with the tag's
    ``push_time`` (the artifact's when the tag has none) and the artifact's ``digest``."""
    found = []
    for artifact in _entries(body, what, "Harbor"):
        if not isinstance(artifact, dict) or not isinstance(artifact.get("tags"), list):
            continue
        pushed = parse_time(artifact.get("push_time"))
        for tag in artifact["tags"]:
            if isinstance(tag, dict) and list(_tags([tag.get("name")])):
                own = parse_time(tag.get("push_time"))
                found.append(PushedTag(tag["name"], _digest(artifact.get("digest")), own or pushed))
    return found


def github_page(body: bytes, what: str) -> list[PushedTag]:
    """A page of GitHub's package versions: each version's ``metadata.container.tags``, its
    ``created_at`` (when that digest was pushed) and its ``name`` (the digest)."""
    found = []
    for version in _entries(body, what, "GitHub"):
        if not isinstance(version, dict):
            continue
        metadata = version.get("metadata")
        container = metadata.get("container") if isinstance(metadata, dict) else None
        if not isinstance(container, dict):
            continue
        pushed = parse_time(version.get("created_at")) or parse_time(version.get("updated_at"))
        for name in _tags(container.get("tags")):
            found.append(PushedTag(name, _digest(version.get("name")), pushed))
    return found


MAX_NEXT_TOKEN = 8192  # ECR's are a few hundred characters; a megabyte one is no token


def ecr_page(body: bytes, what: str) -> tuple[list[PushedTag], str | None]:
    """A page of ECR's ``DescribeImages``: each of ``imageDetails``' ``imageTags`` with the
    image's ``imagePushedAt`` (seconds since the epoch, a JSON number in AWS's JSON protocol)
    and ``imageDigest``; and the ``nextToken`` (None: the last page)."""
    data = load_object(body, what)
    details = data.get("imageDetails")
    if not isinstance(details, list):
        raise RegistryAnswerError(f"{what}: ECR's answer has no 'imageDetails' list")
    token = data.get("nextToken")
    if token is not None and not (isinstance(token, str) and 0 < len(token) <= MAX_NEXT_TOKEN):
        raise RegistryAnswerError(f"{what}: ECR's nextToken is not a string of a sane length")
    found = []
    for image in details:
        if not isinstance(image, dict):
            continue
        value = image.get("imagePushedAt")
        seconds = _number(value) if not isinstance(value, str) else None
        pushed = _when(seconds) if seconds is not None else None
        for name in _tags(image.get("imageTags")):
            found.append(PushedTag(name, _digest(image.get("imageDigest")), pushed))
    return found, token
