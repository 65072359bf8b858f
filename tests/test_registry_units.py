"""The pure pieces of the registry edge: endpoints, media types, times, quotas, the disk cache."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from imagebot.config import RateLimit, RegistryHost, RegistrySettings
from imagebot.errors import RegistryError
from imagebot.refs import parse_reference
from imagebot.registry import DigestFacts, MetadataCache, TagRecord
from imagebot.registry.endpoints import rate_limit_for, resolve
from imagebot.registry.limits import HostLimiter, parse_rate_limit
from imagebot.registry.manifests import (
    ImageManifest,
    Index,
    parse_config,
    parse_manifest,
    parse_time,
    select_platform,
)
from imagebot.registry.transport import retry_after_seconds
from tests.support import FakeClock

MIRRORED = RegistrySettings(
    hosts=(RegistryHost("docker.io", mirror="mirror.internal:5000"),
           RegistryHost("mirror.internal:5000", insecure=True),
           RegistryHost("corp.example", insecure=True))
)  # fmt: skip


@pytest.mark.parametrize(
    ("reference", "settings", "base_url", "repository", "hub_api"),
    [
        pytest.param("nginx", RegistrySettings(), "https://registry-1.docker.io", "library/nginx",
                     True, id="hub"),
        pytest.param("nginx", MIRRORED, "http://mirror.internal:5000", "library/nginx", False,
                     id="hub-through-mirror"),
        pytest.param("ghcr.io/o/a", RegistrySettings(), "https://ghcr.io", "o/a", False, id="tls"),
        pytest.param("corp.example/a", MIRRORED, "http://corp.example", "a", False,
                     id="insecure-host"),
        pytest.param("127.0.0.1:5000/a", RegistrySettings(), "http://127.0.0.1:5000", "a", False,
                     id="loopback"),
        pytest.param("localhost/a", RegistrySettings(), "http://localhost", "a", False,
                     id="localhost"),
    ],
)  # fmt: skip
def test_references_resolve_to_the_endpoint_to_ask(
    reference: str, settings: RegistrySettings, base_url: str, repository: str, hub_api: bool
) -> None:
    endpoint = resolve(parse_reference(reference), settings)
    assert (endpoint.base_url, endpoint.repository, endpoint.hub_api) == (
        base_url, repository, hub_api,
    )  # fmt: skip
    assert endpoint.name == parse_reference(reference).name  # caches key on the original name


def test_docker_hub_gets_conservative_limits_unless_configured() -> None:
    assert rate_limit_for(RegistrySettings(), "registry-1.docker.io").max_concurrency <= 4
    own = RegistrySettings(hosts=(RegistryHost("docker.io", rate_limit=RateLimit(1, 1.0)),))
    assert rate_limit_for(own, "registry-1.docker.io") == RateLimit(1, 1.0)


def test_the_host_limiter_spaces_requests_on_the_injected_clock() -> None:
    clock = FakeClock()
    limiter = HostLimiter(RateLimit(2, 4.0), clock, clock.sleep)
    for _ in range(3):
        with limiter.slot():
            pass
    assert clock.sleeps == [0.25, 0.25]


def test_a_burst_starts_at_once_then_requests_are_paced_again() -> None:
    clock = FakeClock()
    limiter = HostLimiter(RateLimit(8, 4.0, burst=3), clock, clock.sleep)
    for _ in range(5):
        with limiter.slot():
            pass
    assert clock.sleeps == [0.25, 0.25]
    clock.now += 10.0  # idle long enough: the whole burst is available again
    for _ in range(3):
        with limiter.slot():
            pass
    assert clock.sleeps == [0.25, 0.25]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "7;w=21600"},
                     (100, 7, 21600), id="docker-hub"),
        pytest.param({"ratelimit-remaining": "5"}, (None, 5, None), id="remaining-only"),
        pytest.param({}, None, id="absent"),
    ],
)  # fmt: skip
def test_quota_headers_are_parsed(
    headers: dict[str, str], expected: tuple[int | None, ...] | None
) -> None:
    found = parse_rate_limit(headers)
    got = (found.limit, found.remaining, found.window_seconds) if found else None
    assert got == expected


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param("120", 120.0, id="seconds"),
        pytest.param("Wed, 01 May 2024 10:02:00 GMT", 120.0, id="http-date"),
        pytest.param(None, 60.0, id="missing"),
        pytest.param("soon", 60.0, id="garbage"),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(value: str | None, seconds: float) -> None:
    now = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
    assert retry_after_seconds(value, now) == seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2024-05-01T10:00:00Z", dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC), id="z"),
        pytest.param("2024-05-01T10:00:00.123456789Z",
                     dt.datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=dt.UTC), id="go-nanos"),
        pytest.param("2024-05-01T12:00:00+02:00", dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC),
                     id="offset"),
        pytest.param("1970-01-01T00:00:00Z", None, id="reproducible-build-epoch"),
        pytest.param("0001-01-01T00:00:00Z", None, id="go-zero-time"),
        pytest.param("yesterday", None, id="garbage"),
    ],
)  # fmt: skip
def test_times_parse_like_go_writes_them(text: str, expected: dt.datetime | None) -> None:
    assert parse_time(text) == expected


INDEX = json.dumps({
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [
        {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "arm64",
                                              "variant": "v8"}},
        {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}},
    ],
}).encode()  # fmt: skip


def test_an_index_lists_runnable_platforms_and_selects_one() -> None:
    index = parse_manifest(INDEX, "", "x")
    assert isinstance(index, Index)
    assert index.platforms == ("linux/amd64", "linux/arm64/v8")  # attestations are not platforms
    assert select_platform(index, "linux/arm64") == "sha256:arm"
    assert select_platform(index, "linux/arm64/v7") is None
    assert select_platform(index, "windows/amd64") is None


def test_manifests_configs_and_junk_parse_or_fail_clearly() -> None:
    manifest = parse_manifest(b'{"config": {"digest": "sha256:c"}}', "application/json", "x")
    assert manifest == ImageManifest("sha256:c")
    config = parse_config(b'{"created": "2024-01-01T00:00:00Z", "os": "linux", '
                          b'"architecture": "arm64"}', "x")  # fmt: skip
    assert config.platform == "linux/arm64" and config.created is not None
    with pytest.raises(RegistryError, match="no config digest"):
        parse_manifest(b'{"schemaVersion": 1, "fsLayers": []}', "", "team/app:old")


def test_the_disk_cache_survives_a_new_instance_and_shrugs_off_corrupt_files(
    tmp_path: Path,
) -> None:
    when = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    first = MetadataCache(tmp_path)
    first.put_facts("sha256:" + "a" * 64, DigestFacts(created=when, platform="linux/amd64"))
    first.put_facts("sha256:" + "b" * 64, DigestFacts(children={"linux/amd64": "sha256:x"}))
    first.put_tags("r/app", {"1": TagRecord("sha256:" + "a" * 64, when, "linux/amd64")})

    second = MetadataCache(tmp_path)
    assert second.facts("sha256:" + "a" * 64) == DigestFacts(when, "linux/amd64")
    assert second.facts("sha256:" + "b" * 64) == DigestFacts(children={"linux/amd64": "sha256:x"})
    assert second.tags("r/app")["1"].created == when
    assert not list(tmp_path.rglob(".tmp-*"))  # atomic writes leave no temporary files

    for path in tmp_path.rglob("*.json"):
        path.write_text("{truncated")
    third = MetadataCache(tmp_path)
    assert third.facts("sha256:" + "a" * 64) is None and third.tags("r/app") == {}
