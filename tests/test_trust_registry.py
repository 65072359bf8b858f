"""Registry trust boundaries against real loopback servers, with a lying proxy where one must lie.

Credentials go only to the host they are configured for and to the token realm that host's own
challenge names; what the cache keeps and what a pin writes are hashes of bytes received.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from pathlib import Path

import pytest

from imagebot.config import RateLimit, RegistryHost, RegistrySettings
from imagebot.errors import RegistryError
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
from tests.rig.proxy import Exchange, Proxy, start_proxy
from tests.rig.registry import RegistryServer

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
FAST = RateLimit(max_concurrency=8, requests_per_second=100_000)
ZERO = "sha256:" + "0" * 64


def client_for(
    *hosts: RegistryHost, cache: MetadataCache | None = None
) -> tuple[RegistryClient, RegistrySettings]:
    settings = RegistrySettings(hosts=hosts, platform="linux/amd64")
    client = RegistryClient(
        settings,
        cache=cache or MetadataCache(None),
        credentials=CredentialStore(settings, DockerConfig({})),
        sleep=lambda _: None,
    )
    return client, settings


def headers_seen(*proxies: Proxy) -> str:
    return "\n".join(f"{s.method} {s.path} {s.headers}" for p in proxies for s in p.seen)


def test_a_redirect_to_a_host_with_a_bearer_challenge_gets_no_credentials(
    token_auth_registry: RegistryServer,
    unique_repo: str,
    proxies: list[Proxy],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 12 case 1: the first host's user:password went to the second host's token realm."""
    caplog.set_level(logging.DEBUG)
    repo = f"public/{unique_repo.replace('/', '-')}"
    with ImagePusher(token_auth_registry) as images:
        images.push_tags(repo, {"1": T0})
    second = start_proxy(token_auth_registry.url, bind="127.0.0.2")
    first = start_proxy(None)
    first.redirect_to = second.url
    proxies += [first, second]
    secret = f"first-host-{uuid.uuid4().hex}"
    client, _ = client_for(
        RegistryHost(first.host, username="alice", password=secret, rate_limit=FAST)
    )
    image = parse_reference(f"{first.host}/{repo}")

    scan = client.scan([RepoQuery(image, True, None)])[image.name]

    assert "asks for credentials" in (scan.problem or ""), scan.problem
    assert scan.permanent
    tokens = token_auth_registry.token_server
    assert tokens is not None
    assert [r.user for r in tokens.requests if r.user == "alice"] == []
    assert all("authorization" not in {k.lower() for k in s.headers} for s in second.seen)
    assert_no_leaks(
        forms(secret, "alice"),
        texts={
            "log": caplog.text,
            "problem": scan.problem or "",
            "second host": headers_seen(second),
        },
    )


def test_a_mirror_gets_its_own_credentials_and_never_the_mirrored_registrys(
    basic_auth_registry: RegistryServer,
    unique_repo: str,
    proxies: list[Proxy],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    repo = f"library/{unique_repo.replace('/', '-')}"
    with ImagePusher(basic_auth_registry) as images:
        images.push_tags(repo, {"1": T0})
    mirror = start_proxy(basic_auth_registry.url)
    proxies.append(mirror)
    hub_secret = f"hub-{uuid.uuid4().hex}"
    assert basic_auth_registry.username and basic_auth_registry.password
    client, _ = client_for(
        RegistryHost("docker.io", username="hub-user", password=hub_secret, mirror=mirror.host),
        RegistryHost(
            mirror.host,
            username=basic_auth_registry.username,
            password=basic_auth_registry.password,
            rate_limit=FAST,
        ),
    )
    image = parse_reference(f"docker.io/{repo}")

    scan = client.scan([RepoQuery(image, True, None)])[image.name]

    assert scan.problem is None, scan.problem
    assert [t.tag for t in scan.tags] == ["1"]
    assert any("Authorization" in s.headers for s in mirror.seen)  # its own credentials went
    assert_no_leaks(
        [*forms(hub_secret, "hub-user"), basic_auth_registry.password],
        texts={
            "log": caplog.text,
            "mirror": headers_seen(mirror).replace(
                # the mirror's own password reaches it as Basic: take that out, keep the rest
                forms(basic_auth_registry.password, basic_auth_registry.username)[1],
                "",
            ),
        },
    )


def _lie_about_digest(on: frozenset[str]) -> object:
    def rewrite(exchange: Exchange) -> Exchange:
        if "/manifests/" in exchange.path and exchange.method in on:
            exchange.headers = {
                k: v for k, v in exchange.headers.items() if k.lower() != "docker-content-digest"
            }
            exchange.headers["Docker-Content-Digest"] = ZERO
        return exchange

    return rewrite


@pytest.mark.parametrize(
    "lies_on",
    [
        pytest.param(frozenset({"HEAD"}), id="head-only"),
        pytest.param(frozenset({"HEAD", "GET"}), id="head-and-get"),
    ],
)
def test_a_lying_digest_header_is_refused_and_a_true_one_costs_one_get_once(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    proxies: list[Proxy],
    tmp_path: Path,
    lies_on: frozenset[str],
) -> None:
    """Issue 12 case 6: a HEAD's Docker-Content-Digest of sha256:000... was taken on trust."""
    true_digest = pusher.push_image(unique_repo, "stable", created=T0)
    proxy = start_proxy(registry.url)
    proxies.append(proxy)
    proxy.rewrite = _lie_about_digest(lies_on)  # type: ignore[assignment]
    cache_dir = tmp_path / "cache"
    image = parse_reference(f"{proxy.host}/{unique_repo}")
    client, _ = client_for(
        RegistryHost(proxy.host, rate_limit=FAST), cache=MetadataCache(cache_dir)
    )

    with pytest.raises(RegistryError, match="refused"):
        client.digest(image, "stable")

    proxy.rewrite = None
    proxy.seen.clear()
    first_run, _ = client_for(
        RegistryHost(proxy.host, rate_limit=FAST), cache=MetadataCache(cache_dir)
    )
    assert first_run.digest(image, "stable") == true_digest
    assert [s.method for s in proxy.seen] == ["HEAD", "GET"]  # first seen: one GET checks it

    proxy.seen.clear()
    later_run, _ = client_for(
        RegistryHost(proxy.host, rate_limit=FAST), cache=MetadataCache(cache_dir)
    )
    assert later_run.digest(image, "stable") == true_digest
    assert [s.method for s in proxy.seen] == ["HEAD"]  # checked once, kept in the cache


def test_a_manifest_whose_body_does_not_match_its_digest_never_sticks_in_the_cache(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    proxies: list[Proxy],
    tmp_path: Path,
) -> None:
    """Issue 12 case 7: a body that did not match its digest left the cache on an older tag."""
    digests = pusher.push_tags(unique_repo, {"old": T0, "v1": T0 + DAY, "v2": T0 + 2 * DAY})
    old_body = pusher_manifest(registry, unique_repo, "old")
    assert "sha256:" + hashlib.sha256(old_body).hexdigest() == digests["old"]
    proxy = start_proxy(registry.url)
    proxies.append(proxy)

    def serve_old_body_for_v2(exchange: Exchange) -> Exchange:
        if exchange.method == "GET" and exchange.path.endswith("/manifests/v2"):
            exchange.body = old_body  # the header still names v2's digest
        return exchange

    proxy.rewrite = serve_old_body_for_v2
    cache = MetadataCache(tmp_path / "cache")
    image = parse_reference(f"{proxy.host}/{unique_repo}")
    client, _ = client_for(RegistryHost(proxy.host, rate_limit=FAST), cache=cache)

    faulty = client.scan([RepoQuery(image, True, None)])[image.name]
    created = {t.tag: t.created for t in faulty.tags}
    assert created["v2"] is None and "does not match its digest" in " ".join(faulty.warnings)

    proxy.rewrite = None
    fresh_client, _ = client_for(
        RegistryHost(proxy.host, rate_limit=FAST), cache=MetadataCache(tmp_path / "cache")
    )
    healed = fresh_client.scan([RepoQuery(image, True, None)])[image.name]
    assert {t.tag: t.created for t in healed.tags} == {
        "old": T0,
        "v1": T0 + DAY,
        "v2": T0 + 2 * DAY,
    }


def pusher_manifest(registry: RegistryServer, repo: str, tag: str) -> bytes:
    """The manifest bytes the registry serves for ``repo:tag`` (read past imagebot)."""
    import requests

    accept = ", ".join(
        (
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
        )
    )
    response = requests.get(
        f"{registry.url}/v2/{repo}/manifests/{tag}", headers={"Accept": accept}, timeout=10
    )
    response.raise_for_status()
    return response.content


def test_a_refresh_token_post_is_never_redirected_to_another_host(
    token_auth_registry: RegistryServer,
    unique_repo: str,
    proxies: list[Proxy],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An identity token travels in a POST body, which a 307 would carry to the new host."""
    caplog.set_level(logging.DEBUG)
    tokens = token_auth_registry.token_server
    assert tokens is not None
    elsewhere = start_proxy(tokens.realm.rsplit("/", 1)[0], bind="127.0.0.2")
    realm = start_proxy(None)
    realm.redirect_to = elsewhere.url
    front = start_proxy(token_auth_registry.url)
    proxies += [elsewhere, realm, front]

    def challenge_names_the_redirecting_realm(exchange: Exchange) -> Exchange:
        if exchange.status == 401:
            exchange.headers = {
                k: v for k, v in exchange.headers.items() if k.lower() != "www-authenticate"
            }
            exchange.headers["WWW-Authenticate"] = (
                f'Bearer realm="{realm.url}/token",service="imagebot-rig-registry"'
            )
        return exchange

    front.rewrite = challenge_names_the_redirecting_realm
    identity = f"idtok-{uuid.uuid4().hex}"
    settings = RegistrySettings(hosts=(RegistryHost(front.host, rate_limit=FAST),))
    config = DockerConfig({"auths": {front.host: {"identitytoken": identity}}})
    client = RegistryClient(
        settings, cache=MetadataCache(None), credentials=CredentialStore(settings, config)
    )
    image = parse_reference(f"{front.host}/private/{unique_repo.replace('/', '-')}")

    scan = client.scan([RepoQuery(image)])[image.name]

    assert "redirected a token request" in (scan.problem or ""), scan.problem
    assert [s.method for s in realm.seen] == ["POST"]
    assert elsewhere.seen == []
    assert_no_leaks([identity], texts={"log": caplog.text, "problem": scan.problem or ""})


def test_a_netrc_login_is_never_sent_to_a_registry(
    token_auth_registry: RegistryServer,
    unique_repo: str,
    proxies: list[Proxy],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """requests reads ~/.netrc (or $NETRC) by default and puts its login over the token a
    request carries, to whatever host the URL names. Docker and containerd read no netrc; a
    registry gets only what imagebot was configured with."""
    repo = f"public/{unique_repo.replace('/', '-')}"
    with ImagePusher(token_auth_registry) as images:
        images.push_tags(repo, {"1": T0, "2": T0 + DAY})
    front = start_proxy(token_auth_registry.url)
    proxies.append(front)
    secret = f"netrc-{uuid.uuid4().hex}"
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {front.host.split(':')[0]} login mallory password {secret}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    client, _ = client_for(RegistryHost(front.host, rate_limit=FAST))
    image = parse_reference(f"{front.host}/{repo}")

    scan = client.scan([RepoQuery(image, True, None)])[image.name]

    assert scan.problem is None and sorted(t.tag for t in scan.tags) == ["1", "2"], scan.problem
    assert any("bearer" in str(s.headers).lower() for s in front.seen)
    assert_no_leaks(forms(secret, "mallory"), texts={"sent": headers_seen(front)})
