"""Push times from registry APIs, played by ``responses`` with the answers each service documents
(none of them can run here). Every test runs the real client; only HTTP is canned.

The shapes come from:
- Google (gcr.io, Artifact Registry): the tags/list answer's ``manifest`` map (digest ->
  ``tag``, ``timeCreatedMs``, ``timeUploadedMs``), as Google's own client reads it:
  https://github.com/google/go-containerregistry/blob/main/pkg/v1/google/list.go
- Quay: ``GET /api/v1/repository/{repository}/tag/?onlyActiveTags=true&page=&limit=``
  answering ``tags[]`` (``name``, ``start_ts``, ``last_modified``, ``manifest_digest``) and
  ``has_additional``:
  https://docs.redhat.com/en/documentation/red_hat_quay/3/html/use_red_hat_quay/viewing-tag-history-v2-api
  https://docs.quay.io/api/swagger/
- Harbor: ``GET /api/v2.0/projects/{project}/repositories/{repository}/artifacts`` (a name with
  a slash encoded twice, ``a/b`` -> ``a%252Fb``), ``with_tag``, ``page``, ``page_size``; each
  artifact's ``digest``, ``push_time`` and ``tags[]`` (``name``, ``push_time``); pages by
  ``Link`` and ``X-Total-Count``:
  https://github.com/goharbor/harbor/blob/main/api/v2.0/swagger.yaml
  https://goharbor.io/docs/2.2.0/working-with-projects/working-with-images/repositories
- GitHub: ``GET /orgs/{org}/packages/container/{name}/versions`` (``/users/{user}/...`` for a
  user's), a list of versions with ``name`` (the digest), ``created_at``, ``updated_at`` and
  ``metadata.container.tags``; pages by ``Link``; a token with ``read:packages``:
  https://docs.github.com/en/rest/packages/packages#list-package-versions-for-a-package-owned-by-an-organization
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import pytest
import requests
import responses

from imagebot.config import PushTimes, RateLimit, RegistryHost, RegistrySettings
from imagebot.errors import ConfigError
from imagebot.redact import redact
from imagebot.refs import parse_reference
from imagebot.registry import (
    CredentialStore,
    DockerConfig,
    MetadataCache,
    RegistryClient,
    RepoQuery,
)
from imagebot.settings import Source, parse_settings
from imagebot.settings.grammar import read_settings
from tests.registry_fakes import DOCKER_MANIFEST, digest_of, image
from tests.rig.images import ImagePusher
from tests.rig.registry import RegistryServer
from tests.support import FakeClock

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
MAY_1 = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
MAY_2 = dt.datetime(2024, 5, 2, 10, 0, tzinfo=dt.UTC)


def client_for(*hosts: RegistryHost) -> RegistryClient:
    clock = FakeClock()
    return RegistryClient(
        RegistrySettings(hosts=hosts, docker_config="/nonexistent/config.json"),
        session=requests.Session(),
        cache=MetadataCache(None),
        sleep=clock.sleep,
        clock=clock,
        workers=1,
    )


def timed(reference: str) -> RepoQuery:
    return RepoQuery(parse_reference(reference), needs_created=True)


def scan_one(client: RegistryClient, query: RepoQuery) -> dict[str, dt.datetime | None]:
    result = client.scan([query])[query.image.name]
    assert result.problem is None, result.problem
    return {t.tag: t.created for t in result.tags}


def fallback_answers(base: str, tags: dict[str, str]) -> None:
    """The registry API's answers for ``tags`` (tag -> config time): what manifests cost."""
    responses.get(f"{base}/tags/list?n=1000", json={"tags": list(tags)})
    for tag, created in tags.items():
        manifest, config = image(created)
        responses.get(f"{base}/manifests/{tag}", body=manifest, content_type=DOCKER_MANIFEST)
        responses.get(f"{base}/blobs/{digest_of(config)}", body=config)


# --- Google: free, in the tags/list answer ---


@responses.activate
def test_google_push_times_come_with_the_tag_list_at_no_extra_request() -> None:
    responses.get(
        "https://europe-docker.pkg.dev/v2/proj/repo/app/tags/list?n=1000",
        json={
            "name": "proj/repo/app",
            "tags": ["1.0", "1.1", "latest"],
            "manifest": {
                D1: {
                    "imageSizeBytes": "2803255",
                    "layerId": "",
                    "mediaType": DOCKER_MANIFEST,
                    "tag": ["1.0"],
                    "timeCreatedMs": "1714557600000",
                    "timeUploadedMs": "1714557600000",
                },
                D2: {
                    "mediaType": DOCKER_MANIFEST,
                    "tag": ["1.1", "latest"],
                    "timeCreatedMs": "0",  # a reproducible build: the upload time counts
                    "timeUploadedMs": "1714644000000",
                },
            },
        },
    )
    client = client_for()

    times = scan_one(client, timed("europe-docker.pkg.dev/proj/repo/app:1.0"))

    assert times == {"1.0": MAY_1, "1.1": MAY_2, "latest": MAY_2}
    assert client.stats.by_kind() == {"list": 1}


@responses.activate
def test_a_google_tag_missing_from_the_manifest_map_costs_its_manifest_as_before() -> None:
    base = "https://gcr.io/v2/proj/app"
    responses.get(
        f"{base}/tags/list?n=1000",
        json={
            "tags": ["1.0", "1.1"],
            "manifest": {D1: {"tag": ["1.0"], "timeUploadedMs": "1714557600000"}},
        },
    )
    manifest, config = image("2024-05-02T10:00:00Z")
    responses.get(f"{base}/manifests/1.1", body=manifest, content_type=DOCKER_MANIFEST)
    responses.get(f"{base}/blobs/{digest_of(config)}", body=config)
    client = client_for()

    assert scan_one(client, timed("gcr.io/proj/app:1.0")) == {"1.0": MAY_1, "1.1": MAY_2}
    assert client.stats.by_kind() == {"list": 1, "manifest": 1, "blob": 1}


@responses.activate
def test_a_version_ordered_policy_reads_no_push_times_and_asks_nothing_more() -> None:
    responses.get("https://quay.io/v2/org/app/tags/list?n=1000", json={"tags": ["1.0"]})
    client = client_for()

    result = client.scan([RepoQuery(parse_reference("quay.io/org/app:1.0"))])["quay.io/org/app"]

    assert [t.tag for t in result.tags] == ["1.0"]
    assert client.stats.by_kind() == {"list": 1}


# --- Quay ---

QUAY = "https://quay.io/api/v1/repository/org/app/tag/"


def quay_tag(name: str, start: int, digest: str) -> dict[str, object]:
    return {
        "name": name,
        "reversion": False,
        "start_ts": start,
        "manifest_digest": digest,
        "is_manifest_list": False,
        "size": 2275314,
        "last_modified": "Wed, 01 May 2024 10:00:00 -0000",
    }


@responses.activate
def test_quay_push_times_cost_one_request_per_page_and_no_manifests() -> None:
    responses.get(
        f"{QUAY}?page=1&limit=100&onlyActiveTags=true",
        json={"tags": [quay_tag("1.1", 1714644000, D2)], "page": 1, "has_additional": True},
    )
    responses.get(
        f"{QUAY}?page=2&limit=100&onlyActiveTags=true",
        json={
            "tags": [{"name": "1.0", "last_modified": "Wed, 01 May 2024 10:00:00 -0000"}],
            "page": 2,
            "has_additional": False,
        },
    )
    client = client_for()

    times = scan_one(client, timed("quay.io/org/app:1.0"))

    assert times == {"1.1": MAY_2, "1.0": MAY_1}
    assert client.stats.by_kind() == {"api": 2}
    assert all(c.request.headers.get("Authorization") is None for c in responses.calls)


@responses.activate
def test_a_quay_token_goes_to_the_quay_api_only_never_to_the_registry() -> None:
    token = "quay-oauth-token-123"
    responses.get(
        f"{QUAY}?page=1&limit=100&onlyActiveTags=true",
        json={"tags": [quay_tag("1.0", 1714557600, D1)], "has_additional": False},
    )
    client = client_for(RegistryHost("quay.io", push_times=PushTimes(token=token)))

    assert scan_one(client, timed("quay.io/org/app:1.0")) == {"1.0": MAY_1}
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {token}"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(401, b'{"error": "Requires authentication"}', id="private-401"),
        pytest.param(403, b"{}", id="forbidden-403"),
        pytest.param(404, b"{}", id="absent-404"),
        pytest.param(200, b"<html>maintenance</html>", id="not-json"),
        pytest.param(200, b'{"tags": "nope"}', id="wrong-shape"),
    ],
)
def test_a_quay_api_that_refuses_falls_back_to_manifests_once_per_repository(
    status: int, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="imagebot.registry.pushtimes")
    with responses.RequestsMock() as mock:
        api = mock.get(f"{QUAY}?page=1&limit=100&onlyActiveTags=true", status=status, body=body)
        mock.get("https://quay.io/v2/org/app/tags/list?n=1000", json={"tags": ["1.0"]})
        manifest, config = image("2024-05-01T10:00:00Z")
        mock.get(
            "https://quay.io/v2/org/app/manifests/1.0",
            body=manifest,
            content_type=DOCKER_MANIFEST,
        )
        mock.get(f"https://quay.io/v2/org/app/blobs/{digest_of(config)}", body=config)
        client = client_for()

        first = scan_one(client, timed("quay.io/org/app:1.0"))
        second = scan_one(client, timed("quay.io/org/app:1.0"))

    assert first == second == {"1.0": MAY_1}
    assert api.call_count == 1  # not asked again by this process
    notes = [r for r in caplog.records if "no push times from the quay API" in r.getMessage()]
    assert len(notes) == 1 and notes[0].levelno == logging.INFO


# --- Harbor ---

HARBOR = "https://harbor.example"
ARTIFACTS = f"{HARBOR}/api/v2.0/projects/lib/repositories/team%252Fapp/artifacts"


def artifact(digest: str, pushed: str, *tags: tuple[str, str | None]) -> dict[str, object]:
    return {
        "id": 1,
        "type": "IMAGE",
        "digest": digest,
        "push_time": pushed,
        "pull_time": "0001-01-01T00:00:00.000Z",
        "tags": [
            {"id": 7, "name": name, "push_time": when, "immutable": False}
            if when
            else {"id": 7, "name": name}
            for name, when in tags
        ],
    }


@responses.activate
def test_harbor_push_times_page_by_link_and_total_with_the_name_encoded_twice() -> None:
    responses.get(
        f"{ARTIFACTS}?page=1&page_size=100&with_tag=true",
        json=[artifact(D2, "2024-05-02T10:00:00.000Z", ("1.1", None), ("latest", None))],
        headers={
            "Link": "</api/v2.0/projects/lib/repositories/team%252Fapp/artifacts?page=2"
            '&page_size=100&with_tag=true>; rel="next"',
            "X-Total-Count": "101",
        },
    )
    responses.get(
        f"{ARTIFACTS}?page=2&page_size=100&with_tag=true",
        json=[artifact(D1, "2024-04-01T00:00:00Z", ("1.0", "2024-05-01T10:00:00.000Z"))],
        headers={"X-Total-Count": "101"},
    )
    login = RegistryHost(
        "harbor.example",
        username="robot$ci",
        password="harbor-secret",
        push_times=PushTimes("harbor"),
    )
    client = client_for(login)

    times = scan_one(client, timed("harbor.example/lib/team/app:1.0"))

    assert times == {"1.1": MAY_2, "latest": MAY_2, "1.0": MAY_1}  # the tag's own push time
    assert client.stats.by_kind() == {"api": 2}
    # Harbor's API is on the registry's own host, so it gets the registry's own login.
    assert all(c.request.headers["Authorization"].startswith("Basic ") for c in responses.calls)


@responses.activate
def test_harbor_pages_by_total_count_when_there_is_no_link() -> None:
    first = [
        artifact(f"sha256:{i:064x}", "2024-05-01T10:00:00Z", (f"b{i}", None)) for i in range(100)
    ]
    responses.get(
        f"{ARTIFACTS}?page=1&page_size=100&with_tag=true",
        json=first,
        headers={"X-Total-Count": "101"},
    )
    responses.get(
        f"{ARTIFACTS}?page=2&page_size=100&with_tag=true",
        json=[artifact(D1, "2024-05-02T10:00:00Z", ("b100", None))],
        headers={"X-Total-Count": "101"},
    )
    client = client_for(RegistryHost("harbor.example", push_times=PushTimes("harbor")))

    times = scan_one(client, timed("harbor.example/lib/team/app:b1"))

    assert len(times) == 101 and times["b100"] == MAY_2
    assert client.stats.by_kind() == {"api": 2}


@responses.activate
def test_a_harbor_api_on_another_host_never_gets_the_registry_login() -> None:
    other = "https://harbor-api.example/api/v2.0/projects/lib/repositories/app/artifacts"
    responses.get(
        f"{other}?page=1&page_size=100&with_tag=true",
        json=[artifact(D1, "2024-05-01T10:00:00Z", ("1.0", None))],
    )
    host = RegistryHost(
        "harbor.example",
        username="robot$ci",
        password="harbor-secret",
        push_times=PushTimes("harbor", url="https://harbor-api.example"),
    )
    client = client_for(host)

    assert scan_one(client, timed("harbor.example/lib/app:1.0")) == {"1.0": MAY_1}
    assert responses.calls[0].request.headers.get("Authorization") is None


# --- GitHub ---

GITHUB = "https://api.github.com"
GH_TOKEN = "ghp_packages_token_abc"


def version(digest: str, created: str, *tags: str) -> dict[str, object]:
    return {
        "id": 212381245,
        "name": digest,
        "url": f"{GITHUB}/orgs/acme/packages/container/app/versions/212381245",
        "package_html_url": "https://github.com/orgs/acme/packages/container/package/app",
        "created_at": created,
        "updated_at": created,
        "html_url": "https://github.com/orgs/acme/packages/container/app/212381245",
        "metadata": {"package_type": "container", "container": {"tags": list(tags)}},
    }


@responses.activate
def test_github_push_times_come_from_the_packages_api_with_its_own_token() -> None:
    orgs = f"{GITHUB}/orgs/acme/packages/container/tools%2Fapp/versions"
    users = f"{GITHUB}/users/acme/packages/container/tools%2Fapp/versions"
    responses.get(f"{orgs}?per_page=100&page=1", status=404, json={"message": "Not Found"})
    responses.get(
        f"{users}?per_page=100&page=1",
        json=[version(D2, "2024-05-02T10:00:00Z", "1.1", "latest"), version(D1, "x")],
        headers={"Link": f'<{users}?per_page=100&page=2>; rel="next"'},
    )
    responses.get(f"{users}?per_page=100&page=2", json=[version(D1, "2024-05-01T10:00:00Z", "1.0")])
    client = client_for(
        RegistryHost(
            "ghcr.io", username="me", password="registry-pat", push_times=PushTimes(token=GH_TOKEN)
        )
    )

    listed = "https://ghcr.io/v2/acme/tools/app/tags/list?n=1000"
    query = timed("ghcr.io/acme/tools/app:1.0")

    first = scan_one(client, query)
    assert client.stats.by_kind() == {"api": 3}  # ghcr.io itself was not asked
    # A later cycle lists the tags (1 request) and reuses the times the API gave.
    responses.get(listed, json={"tags": ["1.0", "1.1", "latest"]})
    second = scan_one(client, query)
    assert client.stats.by_kind() == {"api": 3, "list": 1}
    # A wanted tag the API has not described sends the scan back to its pages, at /users/ now.
    responses.replace(responses.GET, listed, json={"tags": ["1.0", "1.1", "latest", "1.2"]})
    third = scan_one(client, query)

    assert first == second == third == {"1.1": MAY_2, "latest": MAY_2, "1.0": MAY_1}
    api_calls = [c for c in responses.calls if c.request.url.startswith(GITHUB)]
    assert [c.request.url.split("?")[0].split("/")[3] for c in api_calls] == [
        "orgs",
        "users",
        "users",
        "users",
        "users",
    ]
    assert {c.request.headers["Authorization"] for c in api_calls} == {f"Bearer {GH_TOKEN}"}
    registry_calls = [c for c in responses.calls if c.request.url == listed]
    assert all(GH_TOKEN not in str(c.request.headers) for c in registry_calls)


@responses.activate
def test_ghcr_without_a_packages_token_uses_manifests_as_before() -> None:
    fallback_answers("https://ghcr.io/v2/acme/app", {"1.0": "2024-05-01T10:00:00Z"})
    client = client_for()

    assert scan_one(client, timed("ghcr.io/acme/app:1.0")) == {"1.0": MAY_1}
    assert client.stats.by_kind() == {"list": 1, "manifest": 1, "blob": 1}


@responses.activate
def test_a_redirect_to_another_host_does_not_carry_the_api_token() -> None:
    orgs = f"{GITHUB}/orgs/acme/packages/container/app/versions"
    elsewhere = "https://collector.example/versions"
    responses.get(f"{orgs}?per_page=100&page=1", status=302, headers={"Location": elsewhere})
    responses.get(elsewhere, json=[version(D1, "2024-05-01T10:00:00Z", "1.0")])
    client = client_for(RegistryHost("ghcr.io", push_times=PushTimes(token=GH_TOKEN)))

    assert scan_one(client, timed("ghcr.io/acme/app:1.0")) == {"1.0": MAY_1}
    sent = {c.request.url: c.request.headers.get("Authorization") for c in responses.calls}
    assert sent[f"{orgs}?per_page=100&page=1"] == f"Bearer {GH_TOKEN}"
    assert sent[elsewhere] is None


@responses.activate
def test_an_api_token_echoed_in_a_refusal_is_masked_in_all_output() -> None:
    token = "ghp_echoed_back_token_987"  # a value no other test remembers
    orgs = f"{GITHUB}/orgs/acme/packages/container/app/versions?per_page=100&page=1"
    responses.get(orgs, status=403, json={"message": f"Bad credentials {token}"})
    fallback_answers("https://ghcr.io/v2/acme/app", {"1.0": "2024-05-01T10:00:00Z"})
    client = client_for(RegistryHost("ghcr.io", push_times=PushTimes(token=token)))

    assert scan_one(client, timed("ghcr.io/acme/app:1.0")) == {"1.0": MAY_1}
    assert token not in redact(f"refused: Bad credentials {token}")


@responses.activate
def test_a_next_page_on_another_host_is_refused_and_manifests_are_used() -> None:
    orgs = f"{GITHUB}/orgs/acme/packages/container/app/versions"
    responses.get(
        f"{orgs}?per_page=100&page=1",
        json=[version(D2, "2024-05-02T10:00:00Z", "1.1")],
        headers={"Link": '<https://collector.example/page2>; rel="next"'},
    )
    fallback_answers("https://ghcr.io/v2/acme/app", {"1.0": "2024-05-01T10:00:00Z"})
    client = client_for(RegistryHost("ghcr.io", push_times=PushTimes(token=GH_TOKEN)))

    assert scan_one(client, timed("ghcr.io/acme/app:1.0")) == {"1.0": MAY_1}
    assert not any("collector.example" in c.request.url for c in responses.calls)


@responses.activate
def test_a_server_error_falls_back_for_this_cycle_only() -> None:
    orgs = f"{GITHUB}/orgs/acme/packages/container/app/versions?per_page=100&page=1"
    responses.get(orgs, status=503)
    fallback_answers("https://ghcr.io/v2/acme/app", {"1.0": "2024-05-01T10:00:00Z"})
    client = client_for(RegistryHost("ghcr.io", push_times=PushTimes(token=GH_TOKEN)))

    assert scan_one(client, timed("ghcr.io/acme/app:1.0")) == {"1.0": MAY_1}
    responses.replace(responses.GET, orgs, json=[version(D2, "2024-05-02T10:00:00Z", "1.0")])
    assert scan_one(client, timed("ghcr.io/acme/app:1.0")) == {"1.0": MAY_2}


@responses.activate
def test_push_time_apis_are_off_when_set_to_none_or_behind_a_mirror() -> None:
    fallback_answers("https://quay.io/v2/org/app", {"1.0": "2024-05-01T10:00:00Z"})
    fallback_answers("https://mirror.example/v2/proj/app", {"2.0": "2024-05-02T10:00:00Z"})
    client = client_for(
        RegistryHost("quay.io", push_times=PushTimes("none")),
        RegistryHost("gcr.io", mirror="mirror.example"),
    )

    assert scan_one(client, timed("quay.io/org/app:1.0")) == {"1.0": MAY_1}
    assert scan_one(client, timed("gcr.io/proj/app:2.0")) == {"2.0": MAY_2}
    assert "api" not in client.stats.by_kind()


# --- the rig: a real registry without any push-time API ---


@pytest.mark.parametrize("api", ["harbor", "quay"])
def test_a_configured_api_the_real_registry_lacks_falls_back_with_the_same_answer(
    api: str, registry: RegistryServer, pusher: ImagePusher, unique_repo: str
) -> None:
    pusher.push_tags(unique_repo, {"b-1": MAY_1, "b-2": MAY_2})
    query = timed(f"{registry.host}/{unique_repo}:b-1")
    fast = RateLimit(max_concurrency=4, requests_per_second=100_000)

    def rig_client(push_times: PushTimes | None) -> RegistryClient:
        host = RegistryHost(registry.host, rate_limit=fast, push_times=push_times)
        settings = RegistrySettings(hosts=(host,))
        return RegistryClient(
            settings,
            cache=MetadataCache(None),
            credentials=CredentialStore(settings, DockerConfig({})),
        )

    configured = rig_client(PushTimes(api))
    first = scan_one(configured, query)
    again = scan_one(configured, query)
    plain = scan_one(rig_client(None), query)

    assert first == again == plain == {"b-1": MAY_1, "b-2": MAY_2}
    assert configured.stats.by_kind()["api"] == 1  # refused once (404), not asked again
    name = unique_repo.rpartition("/")[2]
    asked = [e for e in registry.request_log() if e.path.startswith("/api/") and name in e.path]
    assert len(asked) == 1 and asked[0].method == "GET"


# --- settings: only trusted sources name an API, and only --config names its token ---


def test_push_time_settings_are_read_from_the_trusted_config(tmp_path: Path) -> None:
    token_file = tmp_path / "gh-token"
    token_file.write_text("ghp_from_file\n")
    text = (
        "registries:\n  hosts:\n"
        "    ghcr.io:\n      pushTimes: {api: github, tokenEnv: GH_PACKAGES}\n"
        "    ghe.example:\n"
        "      pushTimes: {api: github, url: 'https://ghe.example/api/v3',"
        f" tokenFile: {token_file}}}\n"
        "    harbor.example:\n      pushTimes: {api: harbor}\n"
    )
    settings = parse_settings(
        text, "config.yaml", env={"GH_PACKAGES": "ghp_from_env"}, source=Source.CONFIG
    )

    hosts = {h.host: h.push_times for h in settings.registries.hosts}
    assert hosts == {
        "ghcr.io": PushTimes("github", token="ghp_from_env"),
        "ghe.example": PushTimes("github", "https://ghe.example/api/v3", "ghp_from_file"),
        "harbor.example": PushTimes("harbor"),
    }
    assert "ghp_from" not in repr(settings)


@pytest.mark.parametrize(
    ("source", "tree", "message"),
    [
        pytest.param(
            Source.REPOSITORY,
            {"registries": {"hosts": {"quay.io": {"pushTimes": {"api": "quay"}}}}},
            "registries.hosts: not allowed in the repository",
            id="repository-cannot-name-an-api",
        ),
        pytest.param(
            Source.RESOURCE,
            {"registries": {"hosts": [{"host": "ghcr.io", "pushTimes": {"tokenEnv": "X"}}]}},
            "pushTimes.tokenEnv: unknown key (known keys: api, url)",
            id="resource-cannot-read-the-operator-environment",
        ),
        pytest.param(
            Source.CONFIG,
            {"registries": {"hosts": {"quay.io": {"pushTimes": {"api": "acr"}}}}},
            "'acr': expected one of auto, none, google, quay, harbor, github, ecr",
            id="unknown-api",
        ),
    ],
)
def test_push_time_settings_refused_where_they_do_not_belong(
    source: Source, tree: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        read_settings(tree, source, lambda _p, _n, key: key, env={"X": "x"})


@responses.activate
def test_an_endless_api_listing_stops_at_max_tag_pages_with_a_warning() -> None:
    for page in (1, 2, 3):
        responses.get(
            f"{QUAY}?page={page}&limit=100&onlyActiveTags=true",
            json={"tags": [quay_tag(f"p{page}", 1714557600, D1)], "has_additional": True},
        )
    clock = FakeClock()
    client = RegistryClient(
        RegistrySettings(docker_config="/nonexistent/config.json", max_tag_pages=2),
        session=requests.Session(),
        cache=MetadataCache(None),
        sleep=clock.sleep,
        clock=clock,
        workers=1,
    )

    result = client.scan([timed("quay.io/org/app:p1")])["quay.io/org/app"]

    assert [t.tag for t in result.tags] == ["p1", "p2"]
    assert any("max_tag_pages" in w for w in result.warnings)
    assert client.stats.by_kind() == {"api": 2}


@responses.activate
def test_a_huge_quay_start_ts_is_read_as_no_start_ts_instead_of_crashing() -> None:
    # float() of a 400-digit JSON integer raised OverflowError out of the whole scan.
    responses.get(
        f"{QUAY}?page=1&limit=100&onlyActiveTags=true",
        json={
            "tags": [quay_tag("huge", 10**400, D1), quay_tag("1.0", 1714557600, D1)],
            "has_additional": False,
        },
    )
    client = client_for()

    # The huge one falls back to its last_modified, as a tag without start_ts does.
    assert scan_one(client, timed("quay.io/org/app:1.0")) == {"huge": MAY_1, "1.0": MAY_1}
