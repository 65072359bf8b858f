"""The ImageAutomation spec is read through the same grammar as imagebot.yaml; its Secrets reach
the cycle as objects; Kubernetes API failures become imagebot errors with a status."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from imagebot.config import GitSettings, RateLimit, Settings
from imagebot.controller.kube import Cluster
from imagebot.controller.registries import build_client
from imagebot.controller.secrets import KubernetesSecretReader, cycle_settings
from imagebot.controller.spec import parse_spec
from imagebot.errors import ConfigError
from imagebot.refs import parse_reference
from imagebot.registry import RepoQuery
from tests.controller_support import OLD
from tests.kube_emulator import RunningApi
from tests.leaks import assert_no_leaks, forms
from tests.rig.images import ImagePusher
from tests.rig.registry import RegistryServer

URL = "file:///srv/fluxdemo.git"


def spec(**fields: Any) -> dict[str, Any]:
    return {"git": {"url": URL}, **fields}


def test_an_empty_spec_takes_every_default_from_the_settings_dataclasses() -> None:
    parsed = parse_spec(spec())
    assert parsed.settings == Settings(git=GitSettings(repo=URL))
    assert (parsed.interval_seconds, parsed.suspend, parsed.registry_secrets) == (300.0, False, ())


def test_every_key_the_crd_offers_is_read() -> None:
    parsed = parse_spec(
        {
            "interval": "90s",
            "suspend": True,
            "allowDowngrade": True,
            "git": {
                "url": URL, "branch": "main", "pushBranch": "review", "paths": ["apps"],
                "secretRef": {"name": "git"}, "author": {"name": "Bot", "email": "b@example.org"},
                "messageTemplate": "m", "skipCI": True, "username": "bot", "maxPushAttempts": 2,
                "signingKey": {"format": "ssh", "secretRef": {"name": "sign"}},
            },
            "registries": {
                "platform": "linux/arm64", "requiredPlatforms": ["linux/arm64"],
                "maxTagPages": 3, "maxTags": 30, "timeoutSeconds": 7.5,
                "secretRefs": [{"name": "a"}, {"name": "b"}],
                "hosts": [{"host": "h:5000", "insecure": True, "mirror": "m",
                           "rateLimit": {"maxConcurrency": 2}}],
            },
        }
    )  # fmt: skip
    git, registries = parsed.settings.git, parsed.settings.registries
    assert (parsed.interval_seconds, parsed.suspend, parsed.settings.allow_downgrade) == (
        90.0, True, True
    )  # fmt: skip
    assert (git.branch, git.push_branch, parsed.settings.paths) == ("main", "review", ("apps",))
    assert (git.skip_ci, git.username, git.max_push_attempts, git.signing_format) == (
        True, "bot", 2, "ssh"
    )  # fmt: skip
    assert (parsed.git_secret, parsed.signing_secret, parsed.registry_secrets) == (
        "git", "sign", ("a", "b")
    )  # fmt: skip
    assert (registries.max_tag_pages, registries.max_tags, registries.timeout_seconds) == (
        3, 30, 7.5
    )  # fmt: skip
    (host,) = registries.hosts
    assert (host.host, host.insecure, host.mirror) == ("h:5000", True, "m")
    assert host.rate_limit == RateLimit(max_concurrency=2)  # the rest: the dataclass's defaults


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        # Both crashed with a ValueError or were taken as they were before the spec was checked.
        pytest.param({"maxConcurrency": "x"}, "maxConcurrency: expected a whole number", id="x"),
        pytest.param({"maxConcurrency": -1}, "maxConcurrency: must be at least 1", id="neg"),
        pytest.param({"maxConcurrency": 10**6}, "maxConcurrency: must be at most 256", id="huge"),
        pytest.param({"requestsPerSecond": -5}, "requestsPerSecond: must be above 0", id="neg-rps"),
        pytest.param({"requestsPerSecond": float("nan")}, "requestsPerSecond: nan is", id="nan"),
        pytest.param({"requestsPerSecond": "fast"}, "requestsPerSecond: expected a num", id="word"),
    ],
)
def test_rate_limits_in_the_spec_are_checked_as_in_the_file(
    limit: dict[str, Any], message: str
) -> None:
    hosts = [{"host": "ghcr.io", "rateLimit": limit}]
    with pytest.raises(ConfigError, match=rf"^spec.registries.hosts\[0\].rateLimit.{message}"):
        parse_spec(spec(registries={"hosts": hosts}))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(
            {"registries": {"timeoutSeconds": 0}}, "spec.registries.timeoutSeconds: must be above"
        ),
        pytest.param({"git": {"url": URL, "sshKeyFile": "/etc/key"}}, "spec.git.sshKeyFile: unk"),
        pytest.param({"git": {"url": URL, "tokenEnv": "HOME"}}, "spec.git.tokenEnv: unknown"),
        pytest.param({"registries": {"cacheDir": "/"}}, "spec.registries.cacheDir: unknown"),
        pytest.param(
            {"registries": {"hosts": {"h": {}}}}, "spec.registries.hosts: expected a list"
        ),
        pytest.param({"git": {"url": URL, "paths": "apps"}}, "spec.git.paths: expected a list"),
    ],
)
def test_bad_or_operator_only_keys_in_the_spec_name_the_field(
    fields: dict[str, Any], message: str
) -> None:
    # The operator's files and environment are not the automation author's to name.
    with pytest.raises(ConfigError, match=rf"^{message}"):
        parse_spec(spec(**fields))


def docker_secret(running: RunningApi, name: str, auths: dict[str, Any]) -> None:
    data = base64.b64encode(json.dumps({"auths": auths}).encode()).decode()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": name, "namespace": "ns"},
        "data": {".dockerconfigjson": data},
    }
    answer = running.session.post(
        f"{running.url}/api/v1/namespaces/ns/secrets", json=secret, timeout=5
    )
    answer.raise_for_status()


@pytest.fixture(scope="module")
def api() -> Iterator[RunningApi]:
    running = RunningApi().start()
    yield running
    running.stop()


def test_registry_logins_from_secrets_reach_the_registry_without_a_file(
    api: RunningApi,
    basic_auth_registry: RegistryServer,
    unique_repo: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with ImagePusher(basic_auth_registry) as images:
        images.push_tags(unique_repo, {"1.0": OLD})
    user, password = basic_auth_registry.username, basic_auth_registry.password
    assert user and password
    login = base64.b64encode(f"{user}:{password}".encode()).decode()
    docker_secret(api, "wrong", {basic_auth_registry.host: {"auth": "d3Jvbmc6d3Jvbmc="}})
    docker_secret(api, "right", {basic_auth_registry.host: {"auth": login}})
    parsed = parse_spec(spec(registries={"secretRefs": [{"name": "wrong"}, {"name": "right"}]}))
    reader = KubernetesSecretReader(Cluster(api.client()).secrets_api)

    with cycle_settings(parsed, "ns", reader) as settings:
        registries = settings.registries
        assert registries.docker_config is None  # nothing written to be read back
        client = build_client(registries)
        image = parse_reference(f"{basic_auth_registry.host}/{unique_repo}")
        scan = client.scan([RepoQuery(image, False, None)])[image.name]
        client.close()
    assert scan.problem is None and [tag.tag for tag in scan.tags] == ["1.0"]  # the later wins
    assert_no_leaks(
        forms(password, user),
        texts={"settings": repr(settings), "scan": repr(scan), "log": caplog.text},
    )


def test_an_identity_token_secret_becomes_a_refresh_token_login(api: RunningApi) -> None:
    from imagebot.registry import CredentialStore, DockerConfig

    docker_secret(api, "azure", {"corp.example": {"username": "<token>", "identitytoken": "rt"}})
    parsed = parse_spec(spec(registries={"secretRefs": [{"name": "azure"}]}))
    reader = KubernetesSecretReader(Cluster(api.client()).secrets_api)
    with cycle_settings(parsed, "ns", reader) as settings:
        found = CredentialStore(settings.registries, DockerConfig({})).for_host("corp.example")
    assert found is not None and (found.identity_token, found.password) == ("rt", None)
