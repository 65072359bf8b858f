"""The registry client against the rig's real registries: plain, Basic and token auth.

Request counts come from the registry's own access log, so the budget claims in
docs/registries.md are checked against what a registry really served.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from pathlib import Path

import pytest

from imagebot.config import RateLimit, RegistryHost, RegistrySettings
from imagebot.errors import RegistryNotFound
from imagebot.refs import parse_reference
from imagebot.registry import (
    CredentialStore,
    DockerConfig,
    MetadataCache,
    RegistryClient,
    RepoQuery,
)
from tests.leaks import assert_no_leaks, forms
from tests.rig.images import ImagePusher
from tests.rig.registry import RegistryServer

DAY = dt.timedelta(days=1)
T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
FAST = RateLimit(max_concurrency=8, requests_per_second=100_000)


def make_client(
    server: RegistryServer,
    cache: MetadataCache | None = None,
    *,
    username: str | None = None,
    password: str | None = None,
    platform: str = "linux/amd64",
) -> RegistryClient:
    host = RegistryHost(server.host, username=username, password=password, rate_limit=FAST)
    settings = RegistrySettings(hosts=(host,), platform=platform)
    return RegistryClient(
        settings,
        cache=cache or MetadataCache(None),
        credentials=CredentialStore(settings, DockerConfig({})),
    )


def kinds(server: RegistryServer, repo: str) -> Counter[str]:
    return Counter(f"{e.method} {e.kind}" for e in server.request_log(repo=repo))


def test_scan_lists_tags_with_creation_times_and_digests_of_this_cycle(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str
) -> None:
    digests = pusher.push_tags(unique_repo, {"dev-1": T0, "dev-2": T0 + DAY, "stable": T0 - DAY})
    labelled = pusher.push_image(
        unique_repo,
        "dev-3",
        created=T0,
        media_type="oci",
        labels={"org.opencontainers.image.created": "2024-04-01T00:00:00Z"},
    )
    image = parse_reference(f"{registry.host}/{unique_repo}:dev-1")
    client = make_client(registry)

    scan = client.scan([RepoQuery(image, True, lambda t: t.startswith("dev"))])[image.name]

    found = {t.tag: t for t in scan.tags}
    assert set(found) == {"dev-1", "dev-2", "dev-3", "stable"}
    assert found["dev-2"].created == T0 + DAY
    assert found["dev-3"].created == dt.datetime(2024, 4, 1, tzinfo=dt.UTC)  # label wins
    assert found["dev-1"].digest == digests["dev-1"] and found["dev-3"].digest == labelled
    assert found["stable"].created is None  # not wanted: nothing fetched for it
    assert kinds(registry, unique_repo) == Counter(
        {"GET tags": 1, "GET manifest": 3, "GET blob": 3}
    ) + Counter({"PUT manifest": 4}) + _pushes(registry, unique_repo)


def test_two_tags_of_one_image_download_its_config_once(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str
) -> None:
    label = {"org.opencontainers.image.created": "2024-02-02T00:00:00Z"}
    pusher.push_image(unique_repo, "dev-1", created=T0, labels=label)
    pusher.retag(unique_repo, "dev-1", "dev-1-again")
    pusher.push_image(unique_repo, "release-1", created=T0 + DAY)
    image = parse_reference(f"{registry.host}/{unique_repo}")
    client = make_client(registry)
    wants = RepoQuery(image, True, lambda t: t.startswith("dev"))

    tags = client.scan([wants, RepoQuery(image)])[image.name].tags

    created = {t.tag: t.created for t in tags}
    assert created["dev-1"] == created["dev-1-again"] == dt.datetime(2024, 2, 2, tzinfo=dt.UTC)
    assert created["release-1"] is None
    assert client.stats.by_kind() == {"list": 1, "manifest": 2, "blob": 1}
    served = kinds(registry, unique_repo) - _pushes(registry, unique_repo)
    assert served["GET blob"] == 1


def _pushes(server: RegistryServer, repo: str) -> Counter[str]:
    """Requests the pusher made (uploads, blob HEADs), which the client did not."""
    return Counter(
        f"{e.method} {e.kind}"
        for e in server.request_log(repo=repo)
        if e.kind == "upload" or (e.kind == "blob" and e.method == "HEAD")
    )


def test_a_second_cycle_over_unchanged_tags_costs_one_list_request(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str, tmp_path: Path
) -> None:
    pusher.push_tags(unique_repo, {f"v{i}": T0 + i * DAY for i in range(5)})
    image = parse_reference(f"{registry.host}/{unique_repo}")
    query = [RepoQuery(image, True, None)]
    make_client(registry, MetadataCache(tmp_path)).scan(query)
    before = len(registry.request_log(repo=unique_repo))

    # A new client (another process, the next timer tick) sharing the cache directory.
    second = make_client(registry, MetadataCache(tmp_path))
    scan = second.scan(query)[image.name]

    served = registry.request_log(repo=unique_repo)[before:]
    assert [(e.method, e.kind) for e in served] == [("GET", "tags")]
    assert second.stats.by_kind() == {"list": 1}
    assert [t.created for t in sorted(scan.tags, key=lambda t: t.tag)] == [
        T0 + i * DAY for i in range(5)
    ]
    assert all(t.digest is None for t in scan.tags)  # from cache: verify with digest()


def test_a_moved_tag_is_noticed_by_digest_and_resolved_again_next_cycle(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str
) -> None:
    pusher.push_tags(unique_repo, {"latest-build": T0})
    image = parse_reference(f"{registry.host}/{unique_repo}")
    client = make_client(registry)
    query = [RepoQuery(image, True, None)]
    client.scan(query)
    moved = pusher.push_image(unique_repo, "latest-build", created=T0 + 3 * DAY)

    assert client.digest(image, "latest-build") == moved
    rescanned = client.scan(query)[image.name].tags[0]
    assert rescanned.created == T0 + 3 * DAY and rescanned.digest == moved


def test_multi_arch_indexes_give_platforms_and_the_configured_platform_s_time(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str
) -> None:
    index = pusher.push_index(
        unique_repo,
        "1.0",
        created=T0,
        platforms=["linux/amd64", "linux/arm64/v8"],
        media_type="oci",
    )
    pusher.push_image(unique_repo, "amd64-only", created=T0)
    image = parse_reference(f"{registry.host}/{unique_repo}")
    arm = make_client(registry, platform="linux/arm64")

    tags = {t.tag: t for t in arm.scan([RepoQuery(image, True, None)])[image.name].tags}

    assert tags["1.0"].created == T0 and tags["1.0"].digest == index
    assert tags["amd64-only"].created == T0  # single-platform images are taken as they are
    assert arm.platforms(image, "1.0") == ("linux/amd64", "linux/arm64/v8")
    assert arm.platforms(image, "amd64-only") == ("linux/amd64",)
    assert arm.digest(image, "1.0") == index


def test_an_unknown_repository_is_a_problem_for_it_alone(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str
) -> None:
    pusher.push_tags(unique_repo, {"1": T0})
    known = parse_reference(f"{registry.host}/{unique_repo}")
    missing = parse_reference(f"{registry.host}/{unique_repo}-missing")

    scans = make_client(registry).scan([RepoQuery(known), RepoQuery(missing)])

    assert scans[known.name].problem is None and len(scans[known.name].tags) == 1
    assert "not found" in (scans[missing.name].problem or "")
    assert scans[missing.name].permanent
    with pytest.raises(RegistryNotFound):
        make_client(registry).digest(known, "no-such-tag")


@pytest.mark.parametrize(
    ("username", "password", "problem"),
    [
        pytest.param("rig-user", None, None, id="right-password"),
        pytest.param(None, None, "refused access", id="no-credentials"),
        pytest.param("rig-user", "Wr0ng-SECRET", "refused access", id="wrong-password"),
    ],
)
def test_a_basic_auth_registry_lets_in_only_the_right_credentials(
    *,
    basic_auth_registry: RegistryServer,
    unique_repo: str,
    username: str | None,
    password: str | None,
    problem: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with ImagePusher(basic_auth_registry) as images:
        images.push_tags(unique_repo, {"1": T0})
    secret = password or basic_auth_registry.password
    image = parse_reference(f"{basic_auth_registry.host}/{unique_repo}")
    client = make_client(basic_auth_registry, username=username, password=secret)

    scan = client.scan([RepoQuery(image, True, None)])[image.name]

    if problem is None:
        assert scan.problem is None and scan.tags[0].created == T0
    else:
        assert problem in (scan.problem or "") and "check the credentials" in (scan.problem or "")
        assert scan.permanent
    assert secret is not None
    user = username or basic_auth_registry.username
    assert_no_leaks(forms(secret, user), texts={"log": caplog.text, "scan": repr(scan)})


@pytest.mark.parametrize(
    ("repo_prefix", "credentials", "problem"),
    [
        pytest.param("public", False, None, id="anonymous-pull"),
        pytest.param("private", True, None, id="private-with-credentials"),
        pytest.param("private", False, "refused", id="private-anonymous"),
    ],
)
def test_a_token_registry_serves_anonymous_and_private_pulls_with_one_token(
    *,
    token_auth_registry: RegistryServer,
    unique_repo: str,
    repo_prefix: str,
    credentials: bool,
    problem: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    repo = f"{repo_prefix}/{unique_repo.replace('/', '-')}"
    with ImagePusher(token_auth_registry) as images:
        images.push_tags(repo, {"1": T0, "2": T0 + DAY})
    image = parse_reference(f"{token_auth_registry.host}/{repo}")
    client = make_client(
        token_auth_registry,
        username=token_auth_registry.username if credentials else None,
        password=token_auth_registry.password if credentials else None,
    )

    scan = client.scan([RepoQuery(image, True, None)])[image.name]

    if problem is None:
        assert scan.problem is None, scan.problem
        assert {t.tag: t.created for t in scan.tags} == {"1": T0, "2": T0 + DAY}
        assert client.stats.by_kind()["token"] == 1  # one token serves list, manifests, blobs
    else:
        assert problem in (scan.problem or "") and scan.permanent
    assert token_auth_registry.password is not None
    assert_no_leaks(
        [*forms(token_auth_registry.password, token_auth_registry.username), "Bearer ey"],
        texts={"log": caplog.text, "scan": repr(scan)},
    )  # "Bearer ey": the start of any token the server issued
