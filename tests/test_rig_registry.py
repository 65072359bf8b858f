"""The registry rig itself: pushing, reading back, request logs, auth and clean shutdown."""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.rig import running_registry
from tests.rig.images import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    ImagePusher,
    MediaKind,
    rfc3339,
    sha256,
)
from tests.rig.procs import live_processes
from tests.rig.registry import LoggedRequest, RegistryServer, parse_access_log, start_registry

# Every test here drives the rig's registries.
pytestmark = pytest.mark.rig

BASE = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def test_pushing_100_tags_reads_back_every_tag_with_its_created_time(
    pusher: ImagePusher, unique_repo: str
) -> None:
    wanted = {f"develop-v{i}": BASE + dt.timedelta(minutes=i, seconds=i % 7) for i in range(100)}
    digests = pusher.push_tags(unique_repo, wanted)
    assert sorted(pusher.tags(unique_repo)) == sorted(wanted)
    assert len(set(digests.values())) == 100
    for tag, created in wanted.items():
        assert pusher.config(unique_repo, tag)["created"] == rfc3339(created)


def test_the_same_image_gets_the_same_digest_in_any_repository(
    pusher: ImagePusher, unique_repo: str
) -> None:
    first = pusher.push_image(unique_repo, "a", created=BASE, labels={"team": "rig"})
    second = pusher.push_image(f"{unique_repo}-other", "b", created=BASE, labels={"team": "rig"})
    different = pusher.push_image(unique_repo, "c", created=BASE + dt.timedelta(seconds=1))
    assert first == second != different
    fetched = requests.get(
        f"{pusher.client.base_url}/v2/{unique_repo}/manifests/a",
        headers={"Accept": DOCKER_MANIFEST},
        timeout=10,
    )
    assert sha256(fetched.content) == first


@pytest.mark.parametrize(
    ("media_type", "manifest_type"),
    [
        pytest.param("docker", DOCKER_MANIFEST, id="docker-schema2"),
        pytest.param("oci", OCI_MANIFEST, id="oci"),
    ],
)
def test_an_image_reads_back_with_its_media_type_platform_and_labels(
    pusher: ImagePusher, unique_repo: str, media_type: MediaKind, manifest_type: str
) -> None:
    pusher.push_image(
        unique_repo,
        "v1",
        created=BASE,
        os="linux",
        arch="arm64",
        labels={"org.opencontainers.image.revision": "abc123"},
        media_type=media_type,
    )
    kind, _ = pusher.manifest(unique_repo, "v1")
    config = pusher.config(unique_repo, "v1")
    assert kind == manifest_type
    assert (config["os"], config["architecture"]) == ("linux", "arm64")
    assert config["config"]["Labels"] == {"org.opencontainers.image.revision": "abc123"}


@pytest.mark.parametrize(
    ("media_type", "index_type"),
    [
        pytest.param("docker", DOCKER_LIST, id="docker-manifest-list"),
        pytest.param("oci", OCI_INDEX, id="oci-index"),
    ],
)
def test_a_multi_arch_index_reads_back_per_platform(
    pusher: ImagePusher, unique_repo: str, media_type: MediaKind, index_type: str
) -> None:
    platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
    pusher.push_index(
        unique_repo, "multi", created=BASE, platforms=platforms, media_type=media_type
    )
    kind, index = pusher.manifest(unique_repo, "multi")
    assert kind == index_type
    listed = [
        "/".join(
            filter(
                None,
                (m["platform"]["os"], m["platform"]["architecture"], m["platform"].get("variant")),
            )
        )
        for m in index["manifests"]
    ]
    assert listed == platforms
    for platform in platforms:
        config = pusher.config(unique_repo, "multi", platform)
        assert config["architecture"] == platform.split("/")[1]
        assert config["created"] == rfc3339(BASE)
    assert len({m["digest"] for m in index["manifests"]}) == 3


def test_retag_gives_two_tags_one_digest_and_delete_removes_the_manifest(
    pusher: ImagePusher, unique_repo: str
) -> None:
    digest = pusher.push_image(unique_repo, "v1", created=BASE)
    pusher.push_image(unique_repo, "v2", created=BASE + dt.timedelta(days=1))
    assert pusher.retag(unique_repo, "v1", "stable") == digest
    assert pusher.delete_tag(unique_repo, "stable") == digest
    assert sorted(pusher.tags(unique_repo)) == ["v2"]
    with pytest.raises(requests.HTTPError) as gone:
        pusher.manifest(unique_repo, "v1")
    assert gone.value.response.status_code == 404


def test_request_log_counts_each_request_by_kind(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str
) -> None:
    pusher.push_image(unique_repo, "v1", created=BASE)
    before = len(registry.request_log(repo=unique_repo))
    pusher.tags(unique_repo)
    pusher.config(unique_repo, "v1")
    requests.head(f"{registry.url}/v2/{unique_repo}/manifests/nope", timeout=10)
    after = registry.request_log(repo=unique_repo)[before:]
    assert [(r.method, r.kind, r.status) for r in after] == [
        ("GET", "tags", 200),
        ("GET", "manifest", 200),
        ("GET", "blob", 200),
        ("HEAD", "manifest", 404),
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            '127.0.0.1 - - [28/Nov/2026:14:30:34 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "curl/7.88.1"',
            LoggedRequest("GET", "/v2/", 200),
            id="ping",
        ),
        pytest.param(
            '127.0.0.1 - u [x] "GET /v2/a/b/tags/list?n=10 HTTP/1.1" 401 5 "" "python"',
            LoggedRequest("GET", "/v2/a/b/tags/list", 401, "n=10"),
            id="tags-list-with-query",
        ),
        pytest.param("time=... level=error msg=oops", None, id="not-an-access-line"),
    ],
)
def test_access_log_lines_parse_into_requests(line: str, expected: LoggedRequest | None) -> None:
    assert parse_access_log(line) == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("path", "kind", "repo"),
    [
        pytest.param("/v2/_catalog", "catalog", None, id="catalog"),
        pytest.param("/v2/a/b/manifests/v1", "manifest", "a/b", id="manifest"),
        pytest.param("/v2/a/blobs/sha256:00", "blob", "a", id="blob"),
        pytest.param("/v2/a/blobs/uploads/", "upload", "a", id="upload-start"),
        pytest.param("/v2/a/blobs/uploads/123-abc", "upload", "a", id="upload-put"),
        pytest.param("/metrics", "other", None, id="other"),
    ],
)
def test_logged_requests_know_their_kind_and_repository(
    path: str, kind: str, repo: str | None
) -> None:
    request = LoggedRequest("GET", path, 200)
    assert (request.kind, request.repo) == (kind, repo)


@pytest.mark.parametrize(
    ("server_fixture", "action", "prefix"),
    [
        pytest.param("basic_auth_registry", "push", "", id="basic-push"),
        pytest.param("basic_auth_registry", "pull", "", id="basic-pull"),
        pytest.param("token_auth_registry", "push", "", id="token-push-public"),
        pytest.param("token_auth_registry", "push", "private/", id="token-push-private"),
        pytest.param("token_auth_registry", "pull", "private/", id="token-pull-private"),
    ],
)
def test_auth_registries_refuse_anonymous_callers(
    request: pytest.FixtureRequest, server_fixture: str, action: str, prefix: str, unique_repo: str
) -> None:
    server: RegistryServer = request.getfixturevalue(server_fixture)
    repo = prefix + unique_repo
    with ImagePusher(server) as owner:
        owner.push_image(repo, "v1", created=BASE)
    with ImagePusher(server, anonymous=True) as anonymous, pytest.raises(requests.HTTPError) as no:
        if action == "push":
            anonymous.push_image(repo, "v2", created=BASE + dt.timedelta(hours=1))
        else:
            anonymous.config(repo, "v1")
    assert no.value.response.status_code == 401
    with ImagePusher(server) as owner:
        assert owner.tags(repo) == ["v1"]


def test_token_auth_gives_anonymous_callers_pull_of_public_repos(
    token_auth_registry: RegistryServer, unique_repo: str
) -> None:
    with ImagePusher(token_auth_registry) as owner:
        owner.push_image(unique_repo, "v1", created=BASE)
    with ImagePusher(token_auth_registry, anonymous=True) as anonymous:
        assert anonymous.config(unique_repo, "v1")["created"] == rfc3339(BASE)
    assert token_auth_registry.token_server is not None
    anonymous_grants = [r for r in token_auth_registry.token_server.requests if r.user is None]
    assert f"repository:{unique_repo}:pull" in anonymous_grants[-1].scopes


def test_token_server_refuses_a_wrong_password(token_auth_registry: RegistryServer) -> None:
    assert token_auth_registry.token_server is not None
    response = requests.get(
        token_auth_registry.token_server.realm,
        params={"service": "imagebot-rig-registry", "scope": "repository:a:pull"},
        auth=(token_auth_registry.username or "", "wrong"),
        timeout=10,
    )
    assert response.status_code == 401
    assert "wrong" not in response.text


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, queue.Queue[dict[str, Any]]]]:
    """A URL that collects the registry's notification events, one queue item per event."""
    events: queue.Queue[dict[str, Any]] = queue.Queue()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            for event in json.loads(body)["events"]:
                events.put(event)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", events
    server.shutdown()
    server.server_close()


def test_notifications_post_push_events_to_the_configured_url(
    tmp_path: Path, webhook_receiver: tuple[str, queue.Queue[dict[str, Any]]]
) -> None:
    url, events = webhook_receiver
    with running_registry(tmp_path, notifications_url=url) as (_, images):
        digest = images.push_image("hooked/app", "v1", created=BASE)
        # Blob and manifest events come in separate batches; wait for the tagged manifest.
        event = events.get(timeout=10)
        while event["target"].get("tag") is None:
            event = events.get(timeout=10)
    assert (event["action"], event["target"]["repository"]) == ("push", "hooked/app")
    assert (event["target"]["tag"], event["target"]["digest"]) == ("v1", digest)


def test_stopping_a_registry_ends_its_process_and_removes_its_storage(tmp_path: Path) -> None:
    server = start_registry(tmp_path)
    assert server.storage.is_dir() and server.is_alive()
    server.stop()
    assert not server.is_alive()
    assert not server.storage.exists()
    assert server.process not in live_processes()
