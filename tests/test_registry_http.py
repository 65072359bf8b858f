"""What real registries will not do on demand, played by ``responses``: paging, 429, 5xx, junk
answers, cross-host redirects, huge lists. Every test runs the real client; only HTTP is canned."""

from __future__ import annotations

import logging

import pytest
import requests
import responses

from imagebot.config import RegistryHost, RegistrySettings
from imagebot.refs import parse_reference
from imagebot.registry import MetadataCache, RegistryClient, RepoQuery
from tests.registry_fakes import DOCKER_MANIFEST, digest_of, image
from tests.support import FakeClock

HOST = "reg.example"
BASE = f"https://{HOST}/v2"


def client_for(clock: FakeClock, **settings: object) -> RegistryClient:
    options: dict[str, object] = {"docker_config": "/nonexistent/config.json"}
    options.update(settings)
    return RegistryClient(
        RegistrySettings(**options),  # type: ignore[arg-type]
        session=requests.Session(),
        cache=MetadataCache(None),
        sleep=clock.sleep,
        clock=clock,
        workers=1,
    )


def query(name: str, **kwargs: object) -> RepoQuery:
    return RepoQuery(parse_reference(f"{HOST}/{name}:1"), **kwargs)  # type: ignore[arg-type]


def tags_url(repo: str, query_string: str = "n=1000") -> str:
    return f"{BASE}/{repo}/tags/list?{query_string}"


@responses.activate
def test_tag_listing_follows_link_headers_to_every_page() -> None:
    clock = FakeClock()
    responses.get(
        tags_url("team/app"),
        json={"name": "team/app", "tags": ["1.0", "1.1"]},
        headers={"Link": '</v2/team/app/tags/list?n=1000&last=1.1>; rel="next"'},
    )
    responses.get(tags_url("team/app", "n=1000&last=1.1"), json={"tags": ["1.2"]})

    scan = client_for(clock).scan([query("team/app")])[f"{HOST}/team/app"]

    assert [t.tag for t in scan.tags] == ["1.0", "1.1", "1.2"]
    assert scan.problem is None and scan.warnings == ()


@pytest.mark.parametrize(
    ("bounds", "tag_count", "pages", "bound_name"),
    [
        pytest.param({"max_tag_pages": 3}, 30, 3, "max_tag_pages", id="page-bound"),
        pytest.param({"max_tags": 25}, 25, 3, "max_tags", id="tag-bound"),
    ],
)
def test_an_endless_tag_list_stops_at_its_bound_with_a_warning(
    bounds: dict[str, int],
    tag_count: int,
    pages: int,
    bound_name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for page in range(10):
            last = "" if page == 0 else f"&last=t{page}"
            mock.get(
                tags_url("team/big", f"n=1000{last}"),
                json={"tags": [f"t{page}-{i}" for i in range(10)]},
                headers={"Link": f'</v2/team/big/tags/list?n=1000&last=t{page + 1}>; rel="next"'},
            )
        scan = client_for(clock, **bounds).scan([query("team/big")])[f"{HOST}/team/big"]
        assert len(mock.calls) == pages

    assert len(scan.tags) == tag_count
    assert scan.problem is None
    assert bound_name in scan.warnings[0]
    assert bound_name in caplog.text


@responses.activate
def test_a_huge_tag_list_is_cut_to_max_tags_and_an_oversized_one_is_refused() -> None:
    clock = FakeClock()
    responses.get(tags_url("team/huge"), json={"tags": [f"v{i}" for i in range(50_000)]})
    responses.get(tags_url("team/giant"), body=b'{"tags": ["' + b"x" * (17 << 20) + b'"]}')

    scans = client_for(clock, max_tags=1000).scan([query("team/huge"), query("team/giant")])

    assert len(scans[f"{HOST}/team/huge"].tags) == 1000
    assert "max_tags" in scans[f"{HOST}/team/huge"].warnings[0]
    assert "bytes" in (scans[f"{HOST}/team/giant"].problem or "")


@responses.activate
def test_a_429_stops_all_requests_to_that_host_for_the_cycle_and_marks_results_stale() -> None:
    clock = FakeClock()
    limited = responses.get(
        tags_url("team/a"), status=429, headers={"Retry-After": "120"}, json={"errors": []}
    )
    other_repo = responses.get(tags_url("team/b"), json={"tags": ["1"]})
    other_host = responses.get("https://other.example/v2/x/tags/list?n=1000", json={"tags": ["2"]})
    client = client_for(clock)
    queries = [query("team/a"), query("team/b"), RepoQuery(parse_reference("other.example/x"))]

    scans = client.scan(queries)

    assert scans[f"{HOST}/team/a"].stale and scans[f"{HOST}/team/b"].stale
    assert "retry after 120 s" in (scans[f"{HOST}/team/b"].problem or "")
    assert (limited.call_count, other_repo.call_count) == (1, 0)
    assert not scans["other.example/x"].stale and other_host.call_count == 1
    assert client.stats.by_status() == {429: 1, 200: 1}

    client.scan(queries)  # the next cycle comes too early: the host stays shut
    assert limited.call_count == 1
    clock.now += 121
    client.scan(queries)
    assert limited.call_count == 2


@responses.activate
def test_server_errors_and_timeouts_are_retried_with_backoff_then_succeed() -> None:
    clock = FakeClock()
    url = tags_url("team/flaky")
    responses.get(url, status=503)
    responses.get(url, body=requests.ConnectTimeout("slow"))
    responses.get(url, status=502)
    responses.get(url, json={"tags": ["1.0"]})

    client = client_for(clock, max_retries=3)
    scan = client.scan([query("team/flaky")])[f"{HOST}/team/flaky"]

    assert [t.tag for t in scan.tags] == ["1.0"]
    assert len(clock.sleeps) == 3
    assert clock.sleeps[0] < clock.sleeps[2]  # exponential, whatever the jitter
    assert client.stats.by_status() == {503: 1, 0: 1, 502: 1, 200: 1}  # 0: no answer


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [
        pytest.param(200, b"{not json", "application/json", "not JSON", id="malformed-json"),
        pytest.param(200, b'{"tags": "1.0"}', "application/json", "no 'tags' list", id="bad-shape"),
        pytest.param(
            200, b"<!DOCTYPE html><html>Sign in</html>", "text/html", "not JSON", id="html-200"
        ),
        pytest.param(
            502, b"<html><body>Bad Gateway</body></html>", "text/html", "HTML page", id="html-502"
        ),
        pytest.param(
            404,
            b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}',
            "application/json",
            "NAME_UNKNOWN",
            id="not-found",
        ),
    ],
)
def test_junk_answers_become_a_clear_problem_for_that_repository_only(
    status: int, body: bytes, content_type: str, expected: str
) -> None:
    clock = FakeClock()
    with responses.RequestsMock() as mock:
        mock.get(tags_url("team/bad"), status=status, body=body, content_type=content_type)
        mock.get(tags_url("team/good"), json={"tags": ["1.0"]})
        scans = client_for(clock, max_retries=0).scan([query("team/bad"), query("team/good")])

    assert expected in (scans[f"{HOST}/team/bad"].problem or "")
    assert scans[f"{HOST}/team/good"].problem is None


@responses.activate
def test_a_blob_redirect_to_storage_never_carries_the_registry_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    manifest, config = image("2024-05-01T10:00:00Z")
    storage = "https://storage.example/blobs/abc?X-Amz-Signature=sekrit-signature"
    challenge = {"WWW-Authenticate": f'Basic realm="{HOST}"'}
    responses.get(tags_url("team/app"), status=401, headers=challenge)
    responses.get(tags_url("team/app"), json={"tags": ["1.0"]})
    responses.get(f"{BASE}/team/app/manifests/1.0", body=manifest, content_type=DOCKER_MANIFEST)
    responses.get(
        f"{BASE}/team/app/blobs/{digest_of(config)}", status=307, headers={"Location": storage}
    )
    responses.get(storage, body=config)
    settings_host = RegistryHost(HOST, username="bot", password="hunter2-password")

    client = client_for(clock, hosts=(settings_host,))
    scan = client.scan([query("team/app", needs_created=True)])[f"{HOST}/team/app"]

    assert scan.tags[0].created is not None and scan.tags[0].created.year == 2024
    sent = {call.request.url: call.request.headers.get("Authorization") for call in responses.calls}
    assert sent[storage] is None
    assert sent[f"{BASE}/team/app/blobs/{digest_of(config)}"] is not None
    assert "hunter2" not in caplog.text and "sekrit" not in caplog.text


@responses.activate
def test_a_redirect_from_https_to_plain_http_is_refused() -> None:
    clock = FakeClock()
    responses.get(tags_url("team/app"), status=302, headers={"Location": "http://evil.example/x"})

    scan = client_for(clock).scan([query("team/app")])[f"{HOST}/team/app"]

    assert "plain HTTP" in (scan.problem or "")
    assert len(responses.calls) == 1


def hub_page(names: list[tuple[str, str]], next_url: str | None) -> dict[str, object]:
    return {
        "count": 4,
        "next": next_url,
        "results": [
            {
                "name": name,
                "digest": "sha256:" + name.replace(".", "").ljust(64, "0"),
                "last_updated": pushed,
                "tag_last_pushed": pushed,
                "images": [
                    {"architecture": "amd64", "os": "linux", "digest": "sha256:" + "a" * 64},
                    {
                        "architecture": "arm64",
                        "os": "linux",
                        "variant": "v8",
                        "digest": "sha256:" + "b" * 64,
                    },
                    {"architecture": "unknown", "os": "unknown", "digest": "sha256:" + "c" * 64},
                ],
            }
            for name, pushed in names
        ],
    }


HUB = "https://hub.docker.com/v2/namespaces/library/repositories/nginx/tags"
HUB_FIRST = f"{HUB}?page_size=100&ordering=last_updated"


@pytest.mark.parametrize(
    ("needs_created", "hub_requests"),
    [
        pytest.param(True, 1, id="time-ordered-stops-after-the-page-with-a-wanted-tag"),
        pytest.param(False, 2, id="version-ordered-reads-every-page"),
    ],
)
def test_docker_hub_tags_come_from_the_hub_api_with_push_times_and_platforms(
    needs_created: bool, hub_requests: int
) -> None:
    clock = FakeClock()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        first = mock.get(
            HUB_FIRST,
            json=hub_page(
                [("1.27.1", "2024-06-02T10:00:00.123456Z"), ("mainline", "2024-06-01T00:00:00Z")],
                f"{HUB}?page=2&page_size=100&ordering=last_updated",
            ),
        )
        second = mock.get(
            f"{HUB}?page=2&page_size=100&ordering=last_updated",
            json=hub_page([("1.26.0", "2023-01-01T00:00:00Z")], None),
        )
        client = client_for(clock)
        nginx = RepoQuery(
            parse_reference("nginx:1.26.0"), needs_created, lambda t: t.startswith("1.")
        )
        scan = client.scan([nginx])["docker.io/library/nginx"]

        assert first.call_count + second.call_count == hub_requests
        newest = scan.tags[0]
        assert newest.tag == "1.27.1"
        assert newest.created is not None and newest.created.microsecond == 123456
        # The Hub API's digest is another host's claim: digest() verifies it when a pin needs it.
        assert newest.digest is None
        assert client.platforms(parse_reference("nginx"), "1.27.1") == (
            "linux/amd64",
            "linux/arm64/v8",
        )
        assert client.stats.by_kind() == {"hub": hub_requests}


@responses.activate
def test_a_private_hub_repository_falls_back_to_the_registry_api() -> None:
    clock = FakeClock()
    hub = "https://hub.docker.com/v2/namespaces/acme/repositories/app/tags"
    responses.get(f"{hub}?page_size=100&ordering=last_updated", status=404, json={})
    responses.get(
        "https://registry-1.docker.io/v2/acme/app/tags/list?n=1000",
        json={"tags": ["1.0"]},
        headers={"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "76;w=21600"},
    )

    client = client_for(clock)
    scan = client.scan([RepoQuery(parse_reference("acme/app"))])["docker.io/acme/app"]

    assert [t.tag for t in scan.tags] == ["1.0"]
    quota = client.rate_limits["registry-1.docker.io"]
    assert (quota.limit, quota.remaining, quota.window_seconds) == (100, 76, 21600)
