"""The handlers called directly: spec, status and a patch in; status patch, events and metrics out.

The reconcile is replaced by a function returning a fixed ``RunResult`` (the controller's half of
the contract); Secrets and workloads come from the emulated API server through the real client.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kopf
import pytest
import requests

from imagebot.config import Settings
from imagebot.controller.handlers import Controller
from imagebot.controller.kube import Cluster, api_client
from imagebot.errors import ConfigError, PolicyError, RateLimited, RegistryError
from imagebot.model import Change, CommitSha, Location, Problem, RunResult, Target, TargetKind
from imagebot.refs import parse_reference
from tests.kube_emulator import RunningApi

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FLASK = Target(
    location=Location("deployment.yaml", 40),
    kind=TargetKind.CONTAINER,
    image=parse_reference("registry.example/demo/flaskapp:develop-v1.8.0"),
    workload="Deployment/my-demo/fluxdemo",
    container="flask",
    automated=True,
)
PUSHED = RunResult(
    changes=(
        Change(
            FLASK,
            "registry.example/demo/flaskapp:develop-v1.8.0",
            "registry.example/demo/flaskapp:develop-v1.9.0",
            "develop-v1.9.0",
        ),
    ),
    problems=(Problem("invalid reference docker.io//flaskapp", "other.yaml", 7),),
    commit=CommitSha("abc1234def5678"),
    pushed=True,
    branch="main",
    remote_revision="abc1234def5678",
    push_attempts=2,
    chosen={"deployment.yaml:40": "registry.example/demo/flaskapp:develop-v1.9.0"},
    requests={"list": 1},
    duration_seconds=0.4,
)


@pytest.fixture(scope="module")
def api() -> Iterator[RunningApi]:
    running = RunningApi().start()
    requests.post(
        f"{running.url}/apis/apps/v1/namespaces/my-demo/deployments",
        json={
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "fluxdemo", "namespace": "my-demo", "uid": "u-1"},
        },
        timeout=5,
    ).raise_for_status()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": "regcred", "namespace": "my-demo"},
        "data": {
            ".dockerconfigjson": base64.b64encode(
                json.dumps({"auths": {"registry.example": {"auth": "dTpw"}}}).encode()
            ).decode()
        },
    }
    requests.post(f"{running.url}/api/v1/namespaces/my-demo/secrets", json=secret, timeout=5)
    yield running
    running.stop()


class Recorder:
    """Collects what the controller would post as events, and the settings it reconciled with."""

    def __init__(self, result: RunResult | Exception) -> None:
        self.result = result
        self.events: list[tuple[str, str, str, str]] = []
        self.settings: list[Settings] = []
        self.docker_config: str = ""

    def emit(self, body: Any, type_: str, reason: str, message: str) -> None:
        self.events.append((body.get("kind", ""), type_, reason, message))

    def reconcile(self, settings: Settings, edges: Any) -> RunResult:
        self.settings.append(settings)
        if settings.registries.docker_config:
            self.docker_config = Path(settings.registries.docker_config).read_text()
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def controller(api: RunningApi, recorder: Recorder) -> Controller:
    return Controller(
        cluster=Cluster(api_client(api.url)),
        emit=recorder.emit,
        run_reconcile=recorder.reconcile,
        clock=lambda: NOW,
    )


def body(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "imagebot.io/v1alpha1",
        "kind": "ImageAutomation",
        "metadata": {"name": "seed", "namespace": "my-demo", "generation": 3},
        "spec": {"git": {"url": "file:///srv/fluxdemo.git"}, **spec},
        "status": {},
    }


@pytest.mark.asyncio
async def test_a_pushed_commit_makes_ready_status_and_events_on_automation_and_workload(
    api: RunningApi,
) -> None:
    recorder, patch = Recorder(PUSHED), kopf.Patch()
    await controller(api, recorder).cycle(body=body(), patch=patch)
    status = patch["status"]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "Pushed")
    assert status["lastPushedCommit"] == "abc1234def5678"
    assert status["images"] == ["registry.example/demo/flaskapp"]
    assert status["problems"] == ["other.yaml:7: invalid reference docker.io//flaskapp"]
    message = "imagebot committed flask develop-v1.9.0 in abc1234"
    assert ("ImageAutomation", "Normal", "Committed", message) in recorder.events
    assert ("Deployment", "Normal", "ImageUpdated", message) in recorder.events
    assert (
        "ImageAutomation",
        "Warning",
        "Problem",
        "other.yaml:7: invalid reference docker.io//flaskapp",
    ) in recorder.events


@pytest.mark.asyncio
async def test_known_problems_are_not_announced_twice(api: RunningApi) -> None:
    recorder, patch = Recorder(PUSHED), kopf.Patch()
    known = body()
    known["status"] = {"problems": ["other.yaml:7: invalid reference docker.io//flaskapp"]}
    await controller(api, recorder).cycle(body=known, patch=patch)
    assert not [e for e in recorder.events if e[2] == "Problem"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("error", "kopf_error", "stalled"),
    [
        pytest.param(
            PolicyError("glob:[ is not a pattern"), kopf.PermanentError, "True", id="bad-policy"
        ),
        pytest.param(
            RegistryError("registry.example: 503"), kopf.TemporaryError, "False", id="5xx"
        ),
        pytest.param(
            RateLimited("429 from docker.io", retry_after=42),
            kopf.TemporaryError,
            "False",
            id="429",
        ),
    ],
)
async def test_failures_stall_or_retry_by_kind(
    api: RunningApi, error: Exception, kopf_error: type[Exception], stalled: str
) -> None:
    recorder, patch = Recorder(error), kopf.Patch()
    with pytest.raises(kopf_error) as raised:
        await controller(api, recorder).cycle(body=body(), patch=patch)
    conditions = {c["type"]: c for c in patch["status"]["conditions"]}
    assert conditions["Stalled"]["status"] == stalled
    assert conditions["Ready"]["message"] == str(error)
    if isinstance(error, RateLimited):
        assert raised.value.delay == 42  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_a_missing_secret_stalls_naming_it(api: RunningApi) -> None:
    recorder, patch = Recorder(PUSHED), kopf.Patch()
    spec = body(git={"url": "ssh://git@example/repo.git", "secretRef": {"name": "nope"}})
    with pytest.raises(kopf.PermanentError, match="Secret my-demo/nope does not exist"):
        await controller(api, recorder).cycle(body=spec, patch=patch)
    assert not recorder.settings


@pytest.mark.asyncio
async def test_dockerconfigjson_secrets_reach_reconcile_as_a_private_file(api: RunningApi) -> None:
    recorder, patch = Recorder(PUSHED), kopf.Patch()
    await controller(api, recorder).cycle(
        body=body(registries={"secretRefs": [{"name": "regcred"}]}), patch=patch
    )
    assert json.loads(recorder.docker_config) == {"auths": {"registry.example": {"auth": "dTpw"}}}
    (settings,) = recorder.settings
    assert settings.registries.docker_config is not None
    with pytest.raises(FileNotFoundError):  # gone once the cycle ended
        Path(settings.registries.docker_config).read_text()


@pytest.mark.asyncio
async def test_timer_ticks_skip_automations_that_are_not_due_or_stalled(api: RunningApi) -> None:
    recorder = Recorder(PUSHED)
    recent = body(interval="5m")
    recent["status"] = {"lastRunTime": NOW.isoformat()}
    stalled = body()
    stalled["status"] = {
        "observedGeneration": 3,
        "conditions": [{"type": "Stalled", "status": "True"}],
    }
    for tick in (recent, stalled):
        await controller(api, recorder).cycle(body=tick, patch=kopf.Patch(), force=False)
    assert recorder.settings == []


@pytest.mark.asyncio
async def test_suspended_automations_do_no_work(api: RunningApi) -> None:
    recorder, patch = Recorder(PUSHED), kopf.Patch()
    await controller(api, recorder).cycle(body=body(suspend=True), patch=patch)
    assert recorder.settings == []
    assert patch["status"]["conditions"][0]["reason"] == "Suspended"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        pytest.param({"git": {}}, "spec.git.url", id="no-url"),
        pytest.param({"interval": "0s"}, "spec.interval", id="zero-interval"),
        pytest.param({"suspend": "yes"}, "spec.suspend", id="suspend-not-bool"),
        pytest.param(
            {"registries": {"hosts": [{"insecure": True}]}},
            "spec.registries.hosts[0].host",
            id="host-missing",
        ),
        pytest.param(
            {"git": {"url": "x", "signingKey": {"format": "x509"}}},
            "signingKey.format",
            id="bad-signing-format",
        ),
    ],
)
def test_bad_specs_name_the_field(spec: dict[str, Any], field: str) -> None:
    from imagebot.controller.spec import parse_spec

    full = {"git": {"url": "file:///r.git"}, **spec}
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_spec(full)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Deployment/my-demo/fluxdemo", ("my-demo", "deployment", "fluxdemo"), id="scanner-form"
        ),
        pytest.param(
            "my-demo:deployment/fluxdemo", ("my-demo", "deployment", "fluxdemo"), id="flux-v1-form"
        ),
        pytest.param(
            "cronjob/nightly", ("here", "cronjob", "nightly"), id="namespace-defaults-to-automation"
        ),
        pytest.param("ConfigMap/my-demo/nginx-conf", None, id="not-a-workload"),
    ],
)
def test_workload_names_resolve_to_objects_that_can_take_events(
    text: str, expected: tuple[str, str, str] | None
) -> None:
    from imagebot.controller.status import parse_workload

    found = parse_workload(text, "here")
    assert (found and (found.namespace, found.kind, found.name)) == expected
