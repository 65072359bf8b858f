"""Registry answers shared by the whole operator, against the rig (kmock, a real registry, real
Git remotes and the real reconcile).

Automations naming the same repositories list each of them once per interval between them, not
once each, in their creation cycles and in their timer cycles alike; a webhook lists afresh only
the repository it names; an answer fetched with one login reaches only automations presenting
that very login: a wrong password gets its own refusal and an automation without a Secret its
own 401, never another's tags.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import kopf
import pytest
import requests
from kopf.testing import KopfRunner

from imagebot.controller.handlers import Controller
from imagebot.controller.kube import Cluster
from imagebot.controller.metrics import Metrics
from imagebot.controller.webhooks import Sender
from tests.controller_support import body, fleet_manifest
from tests.kube_emulator import RunningApi
from tests.rig.bare import run_git
from tests.rig.images import ImagePusher
from tests.rig.procs import free_port
from tests.rig.proxy import Proxy, start_proxy
from tests.rig.registry import RegistryServer
from tests.test_controller_operator import (
    AUTOMATIONS,
    NS,
    Operator,
    wait_for,
)
from tests.test_controller_operator import Cluster as Kubectl

pytestmark = pytest.mark.slow
T0 = datetime(2024, 3, 1, tzinfo=UTC)
AUTOMATED = 4
SHARED = 3


def listed(registry: RegistryServer, prefix: str) -> Counter[str]:
    """tags/list requests per repository under ``prefix``, from the registry's access log."""
    return Counter(
        r.repo or ""
        for r in registry.request_log()
        if r.kind == "tags" and (r.repo or "").startswith(prefix)
    )


def automation(name: str, remote: Path, host: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "imagebot.io/v1alpha1",
        "kind": "ImageAutomation",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "interval": "1h",  # anything sooner came from a trigger
            "git": {"url": f"file://{remote}", "branch": "main"},
            "registries": {"hosts": [{"host": host, "insecure": True}]},
            **spec,
        },
    }


def deployed(remote: Path) -> str:
    return run_git("--git-dir", str(remote), "show", "main:deployment.yaml")


def test_automations_naming_the_same_repositories_list_each_once_and_a_webhook_only_its_own(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    # The bug: each automation had its own client, so 4 automations naming the same 3
    # repositories listed each of them 4 times, and a webhook for one repository made every
    # automation it triggered list all of its repositories again.
    shared = [f"{unique_repo}/shared-{k}" for k in range(SHARED)]
    own = [f"{unique_repo}/own-{i}" for i in range(AUTOMATED)]
    for repo in shared + own:
        pusher.push_tags(repo, {"1.0.0": T0})
    api = RunningApi().start()
    api.create_namespace(NS)
    kubectl = Kubectl(api)
    operator = Operator(kubectl, tmp_path / "cache")
    token, port = uuid.uuid4().hex, free_port()
    names = [f"fleet-{i}" for i in range(AUTOMATED)]
    remotes = [
        bare_remote(
            {
                "deployment.yaml": fleet_manifest(
                    name, [f"{registry.host}/{repo}:1.0.0" for repo in [*shared, own[i]]]
                )
            }
        )
        for i, name in enumerate(names)
    ]
    try:
        runner: KopfRunner
        with operator(webhook_port=port, webhook_secrets={Sender.DISTRIBUTION: token}) as runner:
            for name, remote in zip(names, remotes, strict=True):
                kubectl.create(AUTOMATIONS, automation(name, remote, registry.host))
            for name in names:
                wait_for(f"{name} Ready", lambda n=name: ready(kubectl, n), timeout=60)
            first = listed(registry, unique_repo)
            cycles = len(operator.cycles)

            pusher.push_tags(shared[0], {"1.1.0": T0 + timedelta(days=1)})
            delivery = {
                "events": [
                    {
                        "action": "push",
                        "target": {"repository": shared[0], "tag": "1.1.0"},
                        "request": {"host": registry.host},
                    }
                ]
            }
            answer = requests.post(
                f"http://127.0.0.1:{port}/hooks/distribution",
                data=json.dumps(delivery),
                headers={"Authorization": f"Bearer {token}"},
                timeout=5,
            )
            assert answer.status_code == 202, answer.text
            for remote in remotes:
                wait_for(
                    "the pushed tag in every remote",
                    lambda r=remote: f"{shared[0]}:1.1.0" in deployed(r),
                    timeout=60,
                )
            after = listed(registry, unique_repo)
    finally:
        api.stop()
    assert runner.exception is None
    assert cycles >= AUTOMATED
    assert first == Counter(dict.fromkeys(shared + own, 1)), "one list per repository"
    again = after - first
    assert again == Counter({shared[0]: 1}), "the webhook lists its repository once, only it"


def ready(kubectl: Kubectl, name: str) -> bool:
    found = kubectl.condition(name, "Ready")
    return found is not None and found["status"] == "True"


def dockerconfig_secret(name: str, host: str, user: str, password: str) -> dict[str, Any]:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    config = json.dumps({"auths": {host: {"auth": auth}}}).encode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": name, "namespace": "my-demo"},
        "data": {".dockerconfigjson": base64.b64encode(config).decode()},
    }


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.asyncio
async def test_each_automation_gets_answers_fetched_with_its_own_login(
    basic_auth_registry: RegistryServer,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    proxies: list[Proxy],
    tmp_path: Path,
) -> None:
    # Sharing must not hand one automation's tags to another that could not have read them:
    # the answer is keyed by the login, so the same login (from another Secret) shares it, a
    # wrong password or no Secret at all gets the registry's own refusal.
    proxy = start_proxy(basic_auth_registry.url)
    proxies.append(proxy)
    repo = f"{unique_repo}/private"
    with ImagePusher(basic_auth_registry) as images:
        images.push_tags(repo, {"1.0.0": T0, "1.1.0": T0 + timedelta(days=1)})
    user, password = basic_auth_registry.username or "", basic_auth_registry.password or ""
    api = RunningApi().start()
    try:
        api.create_namespace("my-demo")
        logins = {"right-a": password, "right-b": password, "wrong": "not-" + password}
        for secret, secret_password in logins.items():
            api.session.post(
                f"{api.url}/api/v1/namespaces/my-demo/secrets",
                json=dockerconfig_secret(secret, proxy.host, user, secret_password),
                timeout=5,
            ).raise_for_status()
        ctl = Controller(
            cluster=Cluster(api.client()),
            metrics=Metrics(),
            emit=lambda obj, type_, reason, message: None,
            cache_root=tmp_path / "cache",
        )

        async def cycle(secret: str | None) -> dict[str, Any]:
            manifest = fleet_manifest("app", [f"{proxy.host}/{repo}:1.0.0"])
            remote = bare_remote({"deployment.yaml": manifest})
            spec: dict[str, Any] = {
                "git": {"url": f"file://{remote}", "branch": "main"},
                "registries": {
                    "hosts": [{"host": proxy.host, "insecure": True}],
                    "secretRefs": [{"name": secret}] if secret else [],
                },
            }
            patch = kopf.Patch()
            with contextlib.suppress(kopf.TemporaryError, kopf.PermanentError):
                await ctl.cycle(body=body(**spec), patch=patch)
            return {**patch["status"], "deployed": deployed(remote)}

        right_a = await cycle("right-a")
        right_b = await cycle("right-b")
        wrong = await cycle("wrong")
        anonymous = await cycle(None)
    finally:
        api.stop()
    tag = f"{proxy.host}/{repo}:1.1.0"
    assert tag in right_a["deployed"] and tag in right_b["deployed"]
    assert tag not in wrong["deployed"] and tag not in anonymous["deployed"]
    for refused in (wrong, anonymous):
        ready = next(c for c in refused["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "False" and "401" in ready["message"], ready
    lists = Counter(
        seen.headers.get("Authorization", "")
        for seen in proxy.seen
        if seen.path.startswith(f"/v2/{repo}/tags/list")
    )
    right, bad = basic(user, password), basic(user, "not-" + password)
    assert lists[right] == 1, "the same login in two Secrets shares one answer"
    assert lists[bad] >= 1, "the wrong password asked for itself"
    assert lists[""] >= 1, "the automation without a Secret asked for itself"


@pytest.mark.asyncio
async def test_timer_cycles_list_each_repository_once_per_interval_between_them(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    # The bug: every automation's timer cycle listed every repository it names, so three
    # automations naming the same two repositories made six lists per interval, not two.
    shared = [f"{unique_repo}/shared-{k}" for k in range(2)]
    for repo in shared:
        pusher.push_tags(repo, {"1.0.0": T0})
    now = [datetime(2026, 3, 1, 12, 0, tzinfo=UTC)]
    api = RunningApi().start()
    try:
        ctl = Controller(
            cluster=Cluster(api.client()),
            metrics=Metrics(),
            emit=lambda obj, type_, reason, message: None,
            clock=lambda: now[0],
            cache_root=tmp_path / "cache",
        )
        bodies = []
        for index in range(3):
            images = [f"{registry.host}/{repo}:1.0.0" for repo in shared]
            remote = bare_remote({"deployment.yaml": fleet_manifest(f"app-{index}", images)})
            automation = body(
                interval="10m",
                git={"url": f"file://{remote}", "branch": "main"},
                registries={"hosts": [{"host": registry.host, "insecure": True}]},
            )
            automation["metadata"]["name"] = f"timer-{index}"
            bodies.append(automation)

        async def cycle(index: int, *, force: bool) -> None:
            patch = kopf.Patch()
            await ctl.cycle(body=bodies[index], patch=patch, force=force)
            bodies[index]["status"] = {**bodies[index]["status"], **patch["status"]}

        counts = []
        for index in range(3):  # created a minute apart
            await cycle(index, force=True)
            now[0] += timedelta(minutes=1)
        counts.append(listed(registry, unique_repo))
        for _ in range(2):  # two intervals of timer ticks, each automation due once in each
            now[0] += timedelta(minutes=8)
            for index in range(3):
                await cycle(index, force=False)
                now[0] += timedelta(minutes=1)
            counts.append(listed(registry, unique_repo))
    finally:
        api.stop()
    assert all(ready["status"] == "True" for b in bodies for ready in conditions(b, "Ready"))
    per_interval = [dict(later - earlier) for earlier, later in itertools.pairwise(counts)]
    assert dict(counts[0]) == dict.fromkeys(shared, 1)
    assert per_interval == [dict.fromkeys(shared, 1)] * 2


def conditions(automation: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [c for c in automation["status"].get("conditions", []) if c["type"] == kind]
