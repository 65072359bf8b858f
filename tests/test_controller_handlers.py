"""The handlers called directly: spec, status and a patch in; status patch, events and metrics out.

The reconcile is replaced by a function returning a fixed ``RunResult`` (the controller's half of
the contract); Secrets and workloads come from the emulated API server through the real client.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import kopf
import pytest

from imagebot.controller.handlers import build_registry
from imagebot.controller.metrics import Metrics
from imagebot.errors import ConfigError, PolicyError, RateLimited, RegistryError
from imagebot.model import Problem, WorkloadId
from tests.controller_support import (
    NOW,
    PUSHED,
    REGCRED_PASSWORD,
    REGCRED_USER,
    Recorder,
    body,
    controller,
    seeded_api,
)
from tests.kube_emulator import RunningApi
from tests.leaks import assert_no_leaks, forms

BAD_REFERENCE = Problem("invalid reference docker.io//flaskapp", "other.yaml", 7)


@pytest.fixture(scope="module")
def api() -> Iterator[RunningApi]:
    yield from seeded_api()


@pytest.mark.asyncio
@pytest.mark.rig
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
    assert status["observedFingerprint"] == "f1ngerpr1nt"
    message = "imagebot committed flask develop-v1.9.0 in abc1234"
    assert recorder.events == [
        ("ImageAutomation", "Normal", "Committed", message),
        ("Deployment", "Normal", "ImageUpdated", message),
    ]


@pytest.mark.asyncio
@pytest.mark.rig
async def test_new_problems_are_announced_once_each(api: RunningApi) -> None:
    result = replace(PUSHED, problems=(BAD_REFERENCE, Problem("unreadable YAML", "x.yaml", 2)))
    recorder, patch = Recorder(result), kopf.Patch()
    known = body()
    known["status"] = {"problems": ["other.yaml:7: invalid reference docker.io//flaskapp"]}
    await controller(api, recorder).cycle(body=known, patch=patch)
    problems = [e for e in recorder.events if e[2] == "Problem"]
    assert problems == [("ImageAutomation", "Warning", "Problem", "x.yaml:2: unreadable YAML")]


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
@pytest.mark.rig
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
@pytest.mark.rig
async def test_a_missing_secret_stalls_naming_it(api: RunningApi) -> None:
    recorder, patch = Recorder(PUSHED), kopf.Patch()
    spec = body(git={"url": "ssh://git@example/repo.git", "secretRef": {"name": "nope"}})
    with pytest.raises(kopf.PermanentError, match="Secret my-demo/nope does not exist"):
        await controller(api, recorder).cycle(body=spec, patch=patch)
    assert not recorder.settings


@pytest.mark.asyncio
@pytest.mark.rig
async def test_dockerconfigjson_secrets_reach_reconcile_as_objects_not_files(
    api: RunningApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder, patch = Recorder(PUSHED), kopf.Patch()
    await controller(api, recorder).cycle(
        body=body(registries={"secretRefs": [{"name": "regcred"}]}), patch=patch
    )
    (settings,) = recorder.settings
    # Finding 9: no docker config is written to a temporary file and read back.
    assert settings.registries.docker_config is None
    (host,) = settings.registries.hosts
    login = (host.host, host.username, host.password)
    assert login == ("registry.example", REGCRED_USER, REGCRED_PASSWORD)
    assert_no_leaks(
        forms(REGCRED_PASSWORD, REGCRED_USER),
        texts={"events": repr(recorder.events), "status": repr(dict(patch)), "log": caplog.text},
    )


@pytest.mark.asyncio
@pytest.mark.rig
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
@pytest.mark.rig
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
        pytest.param({"interval": "500ms"}, "spec.interval: '500ms' is shorter", id="under-1s"),
        pytest.param({"interval": "5 min"}, "spec.interval: '5 min' is not", id="not-go-syntax"),
        pytest.param({"interval": True}, "spec.interval: True is not", id="interval-not-text"),
        pytest.param({"suspend": "yes"}, "spec.suspend", id="suspend-not-bool"),
        pytest.param(
            {"registries": {"hosts": [{"insecure": True}]}},
            "spec.registries.hosts[0].host",
            id="host-missing",
        ),
        pytest.param(
            {"git": {"url": "x", "signingKey": {"format": "pgp"}}},
            "spec.git.signingKey.format: 'pgp': expected one of openpgp, ssh, x509",
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
    ("workload", "expected"),
    [
        pytest.param(
            WorkloadId("Deployment", "my-demo", "fluxdemo"),
            ("my-demo", "Deployment", "fluxdemo"),
            id="namespace-written",
        ),
        pytest.param(
            WorkloadId("CronJob", None, "nightly"),
            ("here", "CronJob", "nightly"),
            id="namespace-defaults-to-automation",
        ),
        pytest.param(WorkloadId("ConfigMap", "my-demo", "nginx-conf"), None, id="not-a-workload"),
        pytest.param(
            WorkloadId("Kustomization", None, "apps", directory=True), None, id="a-directory"
        ),
    ],
)
def test_workloads_that_can_take_events_are_found_in_their_namespace(
    workload: WorkloadId, expected: tuple[str, str, str] | None
) -> None:
    from imagebot.controller.status import event_workload

    found = event_workload(workload, "here")
    assert (found and (found.namespace, found.kind, found.name)) == expected


def _series(metrics: Metrics, namespace: str, name: str) -> set[str]:
    """The names of every sample that carries this automation's labels."""
    return {
        sample.name
        for family in metrics.registry.collect()
        for sample in family.samples
        if (sample.labels.get("namespace"), sample.labels.get("name")) == (namespace, name)
    }


def _event_handler(registry: Any) -> Any:
    (handler,) = [h for h in registry._watching.get_all_handlers() if h.id == "forget-on-delete"]
    return handler


@pytest.mark.asyncio
@pytest.mark.rig
async def test_a_deleted_automation_leaves_no_metrics_and_the_others_keep_theirs(
    api: RunningApi,
) -> None:
    metrics = Metrics()
    ctl = controller(api, Recorder(PUSHED), metrics=metrics)
    other = body()
    other["metadata"] = {**other["metadata"], "name": "other"}
    await ctl.cycle(body=body(), patch=kopf.Patch())
    await ctl.cycle(body=other, patch=kopf.Patch())
    failing = controller(api, Recorder(PolicyError("no tag matches")), metrics=metrics)
    with pytest.raises(kopf.PermanentError):
        await failing.cycle(body=body(), patch=kopf.Patch())
    assert {"imagebot_cycles_total", "imagebot_problems"} <= _series(metrics, "my-demo", "seed")

    await _event_handler(build_registry(ctl)).fn(type="DELETED", body=body())

    assert _series(metrics, "my-demo", "seed") == set()
    assert "imagebot_cycles_total" in _series(metrics, "my-demo", "other")


@pytest.mark.asyncio
@pytest.mark.rig
async def test_an_automation_that_leaves_the_selector_is_forgotten_with_its_metrics(
    api: RunningApi,
) -> None:
    metrics = Metrics()
    ctl = controller(api, Recorder(PUSHED), metrics=metrics)
    selected = body()
    selected["metadata"] = {**selected["metadata"], "labels": {"shard": "2"}}
    await ctl.cycle(body=selected, patch=kopf.Patch())
    handler = _event_handler(build_registry(ctl, labels={"shard": "2"}))
    # kopf shows this handler every automation: filtered by the selector, it would never see
    # the edit that takes one out of it.
    assert handler.labels is None

    await handler.fn(type="MODIFIED", body=selected)
    assert "imagebot_cycles_total" in _series(metrics, "my-demo", "seed")

    moved = {**selected, "metadata": {**selected["metadata"], "labels": {"shard": "3"}}}
    await handler.fn(type="MODIFIED", body=moved)
    assert _series(metrics, "my-demo", "seed") == set()
    assert ("my-demo", "seed") not in ctl.remembered()
