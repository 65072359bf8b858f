"""The registry clients kept between cycles (``RegistryClients``, as the operator sets it up),
against the rig.

A kept client is reused while the automation's registry settings and docker-config Secret stay
the same, replaced (and closed) when either changes, closed when the automation goes, and each
cycle's view counts only that cycle's requests. The clients are real; only ``close`` is watched.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from imagebot.config import RegistryHost, RegistrySettings
from imagebot.controller.registries import operator_registries
from imagebot.reconcile.registries import CycleRegistry
from imagebot.refs import parse_reference
from imagebot.registry import CredentialStore, DockerConfig, RegistryClient, RepoQuery
from tests.leaks import assert_no_leaks, forms
from tests.rig.images import ImagePusher
from tests.rig.registry import RegistryServer

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
SEED = ("my-demo", "seed")


class WatchedClient(RegistryClient):
    """A real client that remembers being closed."""

    closed = False

    def close(self) -> None:
        self.closed = True
        super().close()


def watched(settings: RegistrySettings) -> RegistryClient:
    return WatchedClient(settings, credentials=CredentialStore(settings, DockerConfig({})))


def docker_config(path: Path, host: str, username: str, password: str) -> str:
    """A docker config file as the controller writes one from a dockerconfigjson Secret."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return str(path)


def scan_one(view: CycleRegistry, host: str, repo: str) -> list[str]:
    scan = view.scan([RepoQuery(parse_reference(f"{host}/{repo}"))])[f"{host}/{repo}"]
    assert scan.problem is None, scan.problem
    return [info.tag for info in scan.tags]


def test_a_kept_client_serves_later_cycles_and_each_view_counts_only_its_own_requests(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str
) -> None:
    pusher.push_tags(unique_repo, {"1.0": T0})
    kept = operator_registries(watched)
    settings = RegistrySettings(hosts=(RegistryHost(registry.host, insecure=True),))

    first = kept.lease(SEED, settings)
    assert scan_one(first, registry.host, unique_repo) == ["1.0"]
    second = kept.lease(SEED, settings)
    assert scan_one(second, registry.host, unique_repo) == ["1.0"]

    assert second.client is first.client
    assert dict(first.stats) == {"list": 2}, "a view of an earlier cycle sees what came after"
    assert dict(second.stats) == {"list": 1}
    assert dict(kept.lease(SEED, settings).stats) == {}


def _platform(settings: RegistrySettings, tmp_path: Path) -> RegistrySettings:
    return replace(settings, platform="linux/arm64")


def _same_secret_next_cycle(settings: RegistrySettings, tmp_path: Path) -> RegistrySettings:
    path = docker_config(tmp_path / "next-cycle.json", "registry.example", "u", "p")
    return replace(settings, docker_config=path)


def _rotated_secret(settings: RegistrySettings, tmp_path: Path) -> RegistrySettings:
    path = docker_config(tmp_path / "rotated.json", "registry.example", "u", "new-password")
    return replace(settings, docker_config=path)


def _another_host(settings: RegistrySettings, tmp_path: Path) -> RegistrySettings:
    return replace(settings, hosts=(*settings.hosts, RegistryHost("ghcr.io")))


@pytest.mark.parametrize(
    ("change", "reused"),
    [
        pytest.param(_same_secret_next_cycle, True, id="same-secret-in-a-new-cycle-file"),
        pytest.param(_rotated_secret, False, id="rotated-secret"),
        pytest.param(_platform, False, id="other-platform"),
        pytest.param(_another_host, False, id="another-host-entry"),
    ],
)
def test_changed_registry_settings_close_the_old_client_and_build_a_new_one(
    change: Callable[[RegistrySettings, Path], RegistrySettings], reused: bool, tmp_path: Path
) -> None:
    config = docker_config(tmp_path / "cycle.json", "registry.example", "u", "p")
    settings = RegistrySettings(docker_config=config)
    kept = operator_registries(watched)
    before = kept.lease(SEED, settings).client

    after = kept.lease(SEED, change(settings, tmp_path)).client

    assert (after is before) is reused
    assert isinstance(before, WatchedClient) and before.closed is not reused
    assert isinstance(after, WatchedClient) and not after.closed


def test_forgetting_an_automation_closes_its_client_and_leaves_the_others(tmp_path: Path) -> None:
    kept = operator_registries(watched)
    other = ("my-demo", "other")
    seed_client = kept.lease(SEED, RegistrySettings()).client
    other_client = kept.lease(other, RegistrySettings()).client
    assert other_client is not seed_client, "automations never share a client's counts"

    kept.forget(SEED)
    kept.forget(SEED)  # a second deletion event is harmless

    assert kept.owners() == {other}
    assert isinstance(seed_client, WatchedClient) and seed_client.closed
    assert isinstance(other_client, WatchedClient) and not other_client.closed


def test_a_kept_client_still_logs_in_after_the_cycle_that_wrote_its_secret_file_is_over(
    basic_auth_registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    # A client that read the docker config lazily met the deleted file in its second cycle.
    with ImagePusher(basic_auth_registry) as images:
        images.push_tags(unique_repo, {"1.0": T0})
    host = basic_auth_registry.host
    user, password = basic_auth_registry.username or "", basic_auth_registry.password or ""
    hosts = (RegistryHost(host, insecure=True),)
    kept = operator_registries()
    first_file = tmp_path / "cycle-1.json"
    first_config = docker_config(first_file, host, user, password)
    kept.lease(SEED, RegistrySettings(hosts=hosts, docker_config=first_config))
    first_file.unlink()  # the first cycle ends without asking this registry anything

    config = docker_config(tmp_path / "cycle-2.json", host, user, password)
    second = kept.lease(SEED, RegistrySettings(hosts=hosts, docker_config=config))

    assert scan_one(second, host, unique_repo) == ["1.0"]


def test_a_host_no_secret_covers_is_asked_without_the_pods_own_docker_config(
    basic_auth_registry: RegistryServer,
    unique_repo: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The operator fell back to the process's ~/.docker/config.json for hosts its automation's
    # Secrets did not cover: any automation could borrow the pod's logins by naming a host.
    with ImagePusher(basic_auth_registry) as images:
        images.push_tags(unique_repo, {"1.0": T0})
    host = basic_auth_registry.host
    user, password = basic_auth_registry.username or "", basic_auth_registry.password or ""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    docker_config(tmp_path / "config.json", host, user, password)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".docker").mkdir()
    docker_config(tmp_path / ".docker" / "config.json", host, user, password)
    settings = RegistrySettings(hosts=(RegistryHost(host, insecure=True),))

    view = operator_registries().lease(SEED, settings)
    reference = f"{host}/{unique_repo}"
    scan = view.scan([RepoQuery(parse_reference(reference))])[reference]

    assert scan.problem is not None and "401" in scan.problem, scan.problem
    assert_no_leaks(forms(password, user), texts={"problem": scan.problem, "log": caplog.text})
