"""The operator logs in as kopf users expect: the kubeconfig (``KUBECONFIG``, ``--kubeconfig``,
``--context``) or the in-cluster service account, following a rotated token; no usable
credentials is one line and exit 2. The test API server, like a real one, refuses requests
without the kubeconfig's bearer token.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from imagebot.controller.kube import Cluster, api_client
from imagebot.controller.login import Login, configuration, connection_info, refreshing
from imagebot.controller.operator import OperatorOptions, build_operator, operator_settings
from imagebot.errors import ConfigError, KubernetesError
from tests.controller_support import KopfRun
from tests.kube_emulator import RunningApi
from tests.rig.procs import free_port

ROOT = Path(__file__).resolve().parent.parent
AUTOMATIONS = "/apis/imagebot.io/v1alpha1/namespaces/my-demo/imageautomations"


@pytest.fixture
def api() -> Iterator[RunningApi]:
    running = RunningApi().start()
    running.create_namespace("my-demo")
    yield running
    running.stop()


def run_controller(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``imagebot controller`` in a process of its own with only ``env`` for its login."""
    kept = {
        k: v for k, v in os.environ.items() if k not in {"KUBECONFIG", "KUBERNETES_SERVICE_HOST"}
    }
    environ = {**kept, "HOME": str(home), "PYTHONPATH": str(ROOT), **env}
    argv = [sys.executable, "-m", "imagebot", "controller", "--standalone", *args]
    port = ["--webhook-port", str(free_port())]
    return subprocess.run(
        argv + port, capture_output=True, text=True, env=environ, timeout=60, check=False
    )


@pytest.mark.rig
def test_the_api_server_refuses_requests_without_the_kubeconfigs_token(api: RunningApi) -> None:
    url = f"{api.url}{AUTOMATIONS}"
    assert requests.get(url, timeout=5).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert requests.get(url, headers=wrong, timeout=5).status_code == 401
    assert api.session.get(url, timeout=5).status_code == 200
    assert Cluster(api.client()).automations() == []


@pytest.mark.rig
def test_without_credentials_the_controller_says_so_in_one_line_and_exits_2(
    tmp_path: Path,
) -> None:
    # Finding: a traceback from the kubernetes client's ConfigException, exit 1.
    done = run_controller(tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("imagebot: error: no Kubernetes credentials: no kubeconfig at ")
    assert "Traceback" not in done.stderr


@pytest.mark.rig
def test_a_broken_kubeconfig_is_one_line_and_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "kubeconfig"
    broken.write_text("clusters: [\n", encoding="utf-8")
    done = run_controller(tmp_path, "--kubeconfig", str(broken))
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "no usable Kubernetes credentials from the kubeconfig" in done.stderr


@pytest.mark.rig
def test_context_picks_the_kubeconfig_context_named(api: RunningApi, tmp_path: Path) -> None:
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig", context="emu")
    text = kubeconfig.read_text().replace('"current-context": "emu"', '"current-context": "gone"')
    kubeconfig.write_text(text)  # the current context names nothing: only --context can work
    with pytest.raises(ConfigError, match="no usable Kubernetes credentials from the kubeconfig"):
        configuration(Login(kubeconfig=str(kubeconfig)))
    chosen = Login(kubeconfig=str(kubeconfig), context="emu")
    assert Cluster(api_client(chosen)).automations() == []
    assert connection_info(chosen).token == api.token


@pytest.mark.rig
def test_kubeconfig_env_is_used_when_no_flag_names_one(
    api: RunningApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    login = Login(environ={"KUBECONFIG": f"{tmp_path / 'absent'}{os.pathsep}{api.kubeconfig}"})
    assert not login.in_cluster
    assert connection_info(login).server == api.url


@pytest.mark.rig
def test_imagebots_client_follows_a_rotated_token_file_without_a_restart(
    api: RunningApi, tmp_path: Path
) -> None:
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig", token_file=True)
    cluster = Cluster(api_client(Login(kubeconfig=str(kubeconfig))))
    assert cluster.automations() == []
    api.rotate()  # the old token is refused from now on
    assert cluster.automations() == []
    # Read once, as the client library alone does: the next rotation locks it out.
    from kubernetes import client

    read_once = Cluster(client.ApiClient(configuration(Login(kubeconfig=str(kubeconfig)))))
    api.rotate()
    with pytest.raises(KubernetesError, match="401"):
        read_once.automations()
    assert cluster.automations() == []


def service_account(folder: Path, token: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "token").write_text(token)
    (folder / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    (folder / "namespace").write_text("imagebot-system")
    return folder


def test_in_cluster_env_logs_in_with_the_mounted_token_and_ca_and_follows_rotation(
    tmp_path: Path,
) -> None:
    mounted = service_account(tmp_path / "sa", "first-token-0123456789")
    environ = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    login = Login(environ=environ, service_account=mounted)
    assert login.in_cluster
    info = connection_info(login)
    assert (info.server, info.token, info.ca_path) == (
        "https://10.96.0.1:443",
        "first-token-0123456789",
        str(mounted / "ca.crt"),
    )
    followed = refreshing(login)
    (mounted / "token").write_text("second-token-9876543210-longer")  # the kubelet rotates
    assert followed.get_api_key_with_prefix("BearerToken").endswith(
        " second-token-9876543210-longer"
    )
    assert connection_info(login).token == "second-token-9876543210-longer"


def test_an_explicit_kubeconfig_wins_over_the_in_cluster_env(tmp_path: Path) -> None:
    environ = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    assert not Login(kubeconfig=str(tmp_path / "k"), environ=environ).in_cluster
    assert not Login(context="dev", environ=environ).in_cluster


def test_in_cluster_without_a_mounted_token_is_a_config_error(tmp_path: Path) -> None:
    environ = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    login = Login(environ=environ, service_account=tmp_path / "nothing")
    with pytest.raises(ConfigError, match="from the in-cluster service account"):
        configuration(login)


@pytest.mark.slow
@pytest.mark.rig
def test_in_cluster_the_operator_logs_in_over_tls_and_follows_a_rotated_token(
    api: RunningApi, tmp_path: Path
) -> None:
    mounted = tmp_path / "serviceaccount"  # what the kubelet mounts; never the real path
    port = api.tls_front(mounted / "ca.crt")
    (mounted / "token").write_text(api.token)
    (mounted / "namespace").write_text("my-demo")
    environ = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(port)}
    login = Login(environ=environ, service_account=mounted)
    assert Cluster(api_client(login)).automations() == []  # imagebot's client: TLS, CA, token
    options = OperatorOptions(
        namespaces=("my-demo",),
        webhook_host="127.0.0.1",
        webhook_port=free_port(),
        standalone=True,
        tick_seconds=0.5,
        cache_dir=tmp_path / "cache",
        login=login,
    )
    registry, _ = build_operator(options)
    args = ["run", "--standalone", "--namespace", "my-demo"]
    broken = {"apiVersion": "imagebot.io/v1alpha1", "kind": "ImageAutomation", "spec": {}}
    with KopfRun(args, registry=registry, settings=operator_settings(options), timeout=30):
        api.session.post(api.url + AUTOMATIONS, json={**broken, "metadata": {"name": "before"}})
        stalled_before = wait_stalled(api, "before")
        api.rotate()
        (mounted / "token").write_text(api.token)  # the kubelet's rotation
        api.session.post(api.url + AUTOMATIONS, json={**broken, "metadata": {"name": "after"}})
        stalled_after = wait_stalled(api, "after")
    assert "spec.git.url is required" in stalled_before
    assert "spec.git.url is required" in stalled_after
    assert api.emulator is not None and api.emulator.refused, "the old token was never refused"


def wait_stalled(api: RunningApi, name: str, timeout: float = 20.0) -> str:
    """The Stalled condition's message once the operator has written it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = api.session.get(f"{api.url}{AUTOMATIONS}/{name}", timeout=5).json()
        for condition in found.get("status", {}).get("conditions", []):
            if condition["type"] == "Stalled" and condition["status"] == "True":
                message: str = condition["message"]
                return message
        time.sleep(0.05)
    raise AssertionError(f"{name} never stalled")
