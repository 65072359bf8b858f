"""The auth flow: challenges, Bearer tokens and their cache (against the rig's token registry),
identity tokens, and credentials found in docker configs, helpers and Kubernetes secrets.
Secrets never leak."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import responses
from responses import matchers

from imagebot.config import RegistryHost, RegistrySettings
from imagebot.errors import ConfigError
from imagebot.refs import parse_reference
from imagebot.registry import (
    CredentialStore,
    DockerConfig,
    MetadataCache,
    RegistryClient,
    RepoQuery,
)
from imagebot.registry.auth import parse_challenge
from tests.leaks import assert_no_leaks, forms
from tests.rig.images import ImagePusher
from tests.rig.registry import RegistryServer
from tests.support import FakeClock

T0 = datetime(2024, 5, 1, tzinfo=UTC)
HOST = "reg.example"
REALM = "https://auth.example/token"
CHALLENGE = f'Bearer realm="{REALM}",service="{HOST}",scope="repository:team/a:pull"'


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        pytest.param(
            CHALLENGE,
            "bearer",
            {"realm": REALM, "service": HOST, "scope": "repository:team/a:pull"},
            id="docker-hub",
        ),
        pytest.param(
            'Basic realm="Registry Realm"', "basic", {"realm": "Registry Realm"}, id="basic"
        ),
        pytest.param(
            'Bearer realm="https://r/t",error="insufficient_scope",scope="a:b:pull,push"',
            "bearer",
            {"realm": "https://r/t", "error": "insufficient_scope", "scope": "a:b:pull,push"},
            id="comma-inside-quotes",
        ),
        pytest.param(
            "bearer realm=https://r/t, service=s",
            "bearer",
            {"realm": "https://r/t", "service": "s"},
            id="unquoted-lowercase",
        ),
    ],
)
def test_challenges_parse_into_scheme_and_parameters(
    header: str, scheme: str, params: dict[str, str]
) -> None:
    challenge = parse_challenge(header)
    assert challenge is not None
    assert (challenge.scheme, dict(challenge.params)) == (scheme, params)


def client_for(
    clock: FakeClock, *hosts: RegistryHost, config: DockerConfig | None = None
) -> RegistryClient:
    settings = RegistrySettings(hosts=hosts)
    return RegistryClient(
        settings,
        session=requests.Session(),
        cache=MetadataCache(None),
        sleep=clock.sleep,
        clock=clock,
        credentials=CredentialStore(settings, config or DockerConfig({})),
        workers=1,
    )


def listing(repo: str, token: str) -> responses.BaseResponse:
    return responses.get(
        f"https://{HOST}/v2/{repo}/tags/list?n=1000",
        match=[matchers.header_matcher({"Authorization": f"Bearer {token}"})],
        json={"tags": ["1"]},
    )


def token_fetches(server: RegistryServer, repo: str) -> int:
    """How many tokens the rig's token server issued for scopes of ``repo``."""
    assert server.token_server is not None
    scopes = (f"repository:{repo}:pull",)
    return sum(1 for r in server.token_server.requests if r.scopes == scopes and r.status == 200)


def test_a_bearer_challenge_gets_a_token_and_later_scopes_skip_the_401(
    token_auth_registry: RegistryServer, unique_repo: str
) -> None:
    repos = [f"{unique_repo}-a", f"{unique_repo}-b"]
    with ImagePusher(token_auth_registry) as images:
        for repo in repos:
            images.push_tags(repo, {"1": T0})
    clock = FakeClock()
    client = client_for(clock)
    queries = [RepoQuery(parse_reference(f"{token_auth_registry.host}/{r}")) for r in repos]

    scans = client.scan(queries)

    assert all(s.problem is None for s in scans.values()), scans
    assert client.stats.by_status() == {401: 1, 200: 4}  # two tokens, two listings
    client.scan(queries)  # the tokens are still fresh: no token requests
    assert [token_fetches(token_auth_registry, r) for r in repos] == [1, 1]
    clock.now += 301
    client.scan(queries)
    assert [token_fetches(token_auth_registry, r) for r in repos] == [2, 2]


@responses.activate
def test_an_identity_token_is_exchanged_by_an_oauth2_refresh_post(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Played by ``responses``: the rig's token server answers GET with Basic only."""
    clock = FakeClock()
    responses.get(
        f"https://{HOST}/v2/team/a/tags/list?n=1000",
        status=401,
        headers={"WWW-Authenticate": CHALLENGE},
    )
    responses.post(
        REALM,
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": "refresh-SECRET",
                    "service": HOST,
                    "scope": "repository:team/a:pull",
                    "client_id": "imagebot",
                }
            )
        ],
        json={"access_token": "tok-a"},
    )
    listing("team/a", "tok-a")
    config = DockerConfig({"auths": {HOST: {"identitytoken": "refresh-SECRET"}}})

    caplog.set_level(logging.DEBUG)
    scan = client_for(clock, config=config).scan([RepoQuery(parse_reference(f"{HOST}/team/a"))])

    assert scan[f"{HOST}/team/a"].problem is None
    assert_no_leaks(
        ["refresh-SECRET", "tok-a"], texts={"log": caplog.text, "scan": repr(scan)}
    )  # neither the identity token nor the token it was exchanged for


def test_refused_credentials_give_a_clear_problem_without_the_secret(
    token_auth_registry: RegistryServer, unique_repo: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with ImagePusher(token_auth_registry) as images:
        images.push_tags(unique_repo, {"1": T0})
    name = f"{token_auth_registry.host}/{unique_repo}"
    host = RegistryHost(token_auth_registry.host, username="bot", password="Pa55-SECRET")

    scan = client_for(FakeClock(), host).scan([RepoQuery(parse_reference(name))])

    problem = scan[name].problem or ""
    assert "refused the credentials" in problem and problem.startswith("token server ")
    assert scan[name].permanent
    assert_no_leaks(
        forms("Pa55-SECRET", "bot"),
        texts={"problem": problem, "log": caplog.text, "host": repr(host), "scan": repr(scan)},
    )


def helper_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: dict[str, str]) -> None:
    """A real ``docker-credential-rig`` program that answers for one server name."""
    script = tmp_path / "docker-credential-rig"
    script.write_text(
        "#!/bin/sh\nread server\n"
        f'if [ "$server" = "{HOST}" ]; then echo \'{json.dumps(answer)}\'; exit 0; fi\n'
        'echo "credentials not found in native keychain"; exit 1\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize(
    ("config", "host", "expected"),
    [
        pytest.param(
            {"auths": {HOST: {"auth": base64.b64encode(b"u:p:with:colons").decode()}}},
            HOST,
            ("u", "p:with:colons", None),
            id="auths-auth",
        ),
        pytest.param(
            {"auths": {"https://index.docker.io/v1/": {"username": "u", "password": "p"}}},
            "registry-1.docker.io",
            ("u", "p", None),
            id="hub-url-key",
        ),
        pytest.param(
            {"auths": {HOST: {"identitytoken": "idt"}}},
            HOST,
            (None, None, "idt"),
            id="identitytoken",
        ),
        pytest.param({"credHelpers": {HOST: "rig"}}, HOST, ("hu", "hs", None), id="cred-helper"),
        pytest.param({"credsStore": "rig"}, HOST, ("hu", "hs", None), id="creds-store"),
        pytest.param({"credsStore": "rig"}, "other.example", None, id="helper-without-entry"),
        pytest.param({"credHelpers": {HOST: "missing"}}, HOST, None, id="helper-not-installed"),
    ],
)
@pytest.mark.rig
def test_docker_config_credentials_are_found_per_host(
    config: dict[str, object],
    host: str,
    expected: tuple[str | None, ...] | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    helper_on_path(tmp_path, monkeypatch, {"Username": "hu", "Secret": "hs"})
    found = DockerConfig(config).lookup(host)
    got = (found.username, found.password, found.identity_token) if found else None
    assert got == expected


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param({"auths": {HOST: {"auth": "dTpw"}}}, id="decoded-dict"),
        pytest.param('{"auths": {"reg.example": {"auth": "dTpw"}}}', id="decoded-text"),
        pytest.param(
            {".dockerconfigjson": '{"auths": {"reg.example": {"auth": "dTpw"}}}'}, id="secret-data"
        ),
    ],
)
def test_kubernetes_dockerconfigjson_secrets_are_accepted(secret: object) -> None:
    found = DockerConfig.from_secret(secret).lookup(HOST)  # type: ignore[arg-type]
    assert found is not None and found.basic == ("u", "p")


def test_settings_win_over_the_docker_config_and_a_broken_config_names_its_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {HOST: {"auth": "dTpw"}}}))
    settings = RegistrySettings(
        hosts=(RegistryHost(HOST, username="me", token="pat"),), docker_config=str(path)
    )
    assert CredentialStore(settings).for_host(HOST) == CredentialStore(settings).for_host(HOST)
    assert CredentialStore(settings).for_host(HOST).basic == ("me", "pat")  # type: ignore[union-attr]
    assert CredentialStore(RegistrySettings(docker_config=str(path))).for_host(HOST).basic == (
        "u",
        "p",
    )  # type: ignore[union-attr]
    path.write_text("{oops")
    with pytest.raises(ConfigError, match=str(path)):
        CredentialStore(RegistrySettings(docker_config=str(path))).for_host(HOST)
