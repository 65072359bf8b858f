"""How a finished cycle reads in status, events and metrics: problems the user must fix stall,
passing registry failures retry with backoff, a cycle in which nothing moved is cheap and quiet.

The reconcile is the ``Recorder`` stand-in (see tests/controller_support.py); what is checked is
the controller's half: conditions, the fingerprint handed back, kopf errors, events, metrics.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import kopf
import pytest

from imagebot.controller.metrics import Metrics
from imagebot.controller.status import judge
from imagebot.manifest import scan_text
from imagebot.model import Problem, ProblemCode, RunResult, Severity
from imagebot.registry import RateLimitInfo
from tests.controller_support import NOW, PUSHED, Recorder, body, controller, seeded_api
from tests.kube_emulator import RunningApi

POLICY = Problem(
    "invalid policy 'regexp:(' (annotation flux.weave.works/tag.app): "
    "missing ), unterminated subpattern at position 0",
    "broken.yaml",
    12,
    "registry.example/demo/app:1.0",
    ProblemCode.INVALID_POLICY,
)
REFUSED = Problem(
    "registry.example/demo/app: 401 unauthorized; not updated",
    "a.yaml",
    3,
    None,
    ProblemCode.REGISTRY_REFUSED,
)
BAD_FILE = Problem("invalid reference docker.io//flaskapp", "other.yaml", 7)
UNAVAILABLE = Problem(
    "registry.example/demo/app: 503; not updated",
    "a.yaml",
    3,
    None,
    ProblemCode.REGISTRY_UNAVAILABLE,
)
NO_DIGEST = Problem(
    "no digest for registry.example/demo/app:2; pin not updated",
    "a.yaml",
    3,
    None,
    ProblemCode.NO_DIGEST,
)
# A ready automation whose last full cycle, on this generation, saw "f1ngerpr1nt".
READY = {
    "observedGeneration": 3,
    "observedFingerprint": "f1ngerpr1nt",
    "lastRunTime": (NOW - timedelta(minutes=10)).isoformat(),
    "conditions": [{"type": "Ready", "status": "True", "reason": "Pushed"}],
}


@pytest.fixture(scope="module")
def api() -> Iterator[RunningApi]:
    yield from seeded_api()


def conditions(patch: kopf.Patch) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in patch["status"]["conditions"]}


def cycles(metrics: Metrics, outcome: str) -> float | None:
    labels = {"namespace": "my-demo", "name": "seed", "outcome": outcome}
    return metrics.registry.get_sample_value("imagebot_cycles_total", labels)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("problems", "reason", "shown"),
    [
        pytest.param(
            (BAD_FILE, POLICY),
            "InvalidPolicy",
            "broken.yaml:12: invalid policy 'regexp:(' (annotation flux.weave.works/tag.app): "
            "missing ), unterminated subpattern",
            id="invalid-policy-first",
        ),
        pytest.param((REFUSED,), "RegistryRefused", "a.yaml:3: registry.example", id="401"),
        pytest.param((BAD_FILE,), "ManifestProblems", "other.yaml:7: invalid ref", id="bad-ref"),
    ],
)
@pytest.mark.rig
async def test_user_fixable_problems_stall_naming_file_and_line_yet_keep_the_commit(
    api: RunningApi, problems: tuple[Problem, ...], reason: str, shown: str
) -> None:
    metrics, patch = Metrics(), kopf.Patch()
    recorder = Recorder(replace(PUSHED, problems=problems))
    await controller(api, recorder, metrics=metrics).cycle(body=body(), patch=patch)
    status = patch["status"]
    assert conditions(patch) == {
        "Ready": ("False", reason),
        "Reconciling": ("False", reason),
        "Stalled": ("True", reason),
    }
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert shown in stalled["message"]
    assert stalled["message"].endswith("; pushed abc1234 for the rest")
    assert status["lastPushedCommit"] == "abc1234def5678"
    assert [e[2] for e in recorder.events] == ["Committed", "ImageUpdated"] + ["Problem"] * len(
        problems
    )
    assert cycles(metrics, "stalled") == 1


@pytest.mark.asyncio
@pytest.mark.rig
async def test_a_long_list_of_problems_is_cut_short_in_the_message(api: RunningApi) -> None:
    many = tuple(replace(BAD_FILE, line=line) for line in range(1, 6))
    patch = kopf.Patch()
    await controller(api, Recorder(replace(PUSHED, problems=many))).cycle(body=body(), patch=patch)
    ready = next(c for c in patch["status"]["conditions"] if c["type"] == "Ready")
    assert ready["message"].count("other.yaml:") == 3
    assert "(and 2 more in status.problems)" in ready["message"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("result", "retry", "interval", "delay"),
    [
        pytest.param(
            replace(PUSHED, problems=(UNAVAILABLE,), failed_repositories=("registry.example/a",)),
            0,
            "5m",
            10,
            id="first-retry-after-10s",
        ),
        pytest.param(
            replace(PUSHED, stale_registries=("registry.example",)), 3, "5m", 80, id="backs-off"
        ),
        pytest.param(
            replace(PUSHED, failed_repositories=("registry.example/a",)),
            9,
            "2m",
            120,
            id="never-later-than-the-next-poll",
        ),
    ],
)
@pytest.mark.rig
async def test_unavailable_registries_retry_with_backoff_and_never_stall(
    api: RunningApi, result: RunResult, retry: int, interval: str, delay: float
) -> None:
    metrics, patch = Metrics(), kopf.Patch()
    recorder = Recorder(replace(result, observed=None))
    with pytest.raises(kopf.TemporaryError, match="retrying") as raised:
        await controller(api, recorder, metrics=metrics).cycle(
            body=body(interval=interval), patch=patch, retry=retry
        )
    assert raised.value.delay == delay
    assert conditions(patch) == {
        "Ready": ("False", "RegistryUnavailable"),
        "Reconciling": ("True", "RegistryUnavailable"),
        "Stalled": ("False", "RegistryUnavailable"),
    }
    assert patch["status"]["lastPushedCommit"] == "abc1234def5678"  # what did go through
    assert patch["status"]["observedFingerprint"] is None  # the next cycle runs in full
    assert cycles(metrics, "transient") == 1
    assert (
        metrics.registry.get_sample_value(
            "imagebot_last_success_timestamp_seconds", {"namespace": "my-demo", "name": "seed"}
        )
        is None
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "result",
    [
        pytest.param(replace(PUSHED, problems=(NO_DIGEST,)), id="no-digest-is-only-listed"),
        pytest.param(
            replace(PUSHED, skipped=(replace(POLICY, code=ProblemCode.LOCKED),)), id="locked"
        ),
    ],
)
@pytest.mark.rig
async def test_other_notes_leave_the_automation_ready(api: RunningApi, result: RunResult) -> None:
    patch = kopf.Patch()
    await controller(api, Recorder(result)).cycle(body=body(), patch=patch)
    assert conditions(patch)["Ready"] == ("True", "Pushed")
    assert conditions(patch)["Stalled"] == ("False", "Pushed")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("how", "status", "since"),
    [
        pytest.param({"force": False}, READY, "f1ngerpr1nt", id="timer-tick-may-skip"),
        pytest.param({"force": True}, READY, None, id="create-resume-or-webhook-runs-in-full"),
        pytest.param(
            {"force": False}, {**READY, "observedGeneration": 2}, None, id="spec-changed-since"
        ),
        pytest.param({"force": False, "retry": 1}, READY, None, id="kopf-retry-runs-in-full"),
        pytest.param(
            {"force": False}, {**READY, "observedFingerprint": None}, None, id="nothing-to-compare"
        ),
    ],
)
@pytest.mark.rig
async def test_only_timer_ticks_on_an_unchanged_spec_pass_the_fingerprint_back(
    api: RunningApi, how: dict[str, Any], status: dict[str, Any], since: str | None
) -> None:
    recorder = Recorder(PUSHED)
    await controller(api, recorder).cycle(body=body(status=status), patch=kopf.Patch(), **how)
    assert recorder.since == [since]


@pytest.mark.asyncio
@pytest.mark.rig
async def test_an_unchanged_cycle_only_moves_the_last_run_time(api: RunningApi) -> None:
    metrics, patch = Metrics(), kopf.Patch()
    unchanged = RunResult(remote_revision="abc1234def5678", observed="f1ngerpr1nt", unchanged=True)
    recorder = Recorder(unchanged)
    await controller(api, recorder, metrics=metrics).cycle(
        body=body(status=READY), patch=patch, force=False
    )
    assert patch["status"] == {"lastRunTime": NOW.isoformat(), "observedRevision": "abc1234def5678"}
    assert recorder.events == []
    assert cycles(metrics, "skipped") == 1
    assert cycles(metrics, "ok") is None


@pytest.mark.asyncio
@pytest.mark.rig
async def test_a_failed_cycle_forgets_the_fingerprint(api: RunningApi) -> None:
    from imagebot.errors import RegistryError

    patch = kopf.Patch()
    with pytest.raises(kopf.TemporaryError):
        await controller(api, Recorder(RegistryError("503"))).cycle(body=body(), patch=patch)
    assert patch["status"]["observedFingerprint"] is None


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("reason", "polled"),
    [
        pytest.param("InvalidPolicy", True, id="fixed-by-a-git-commit-so-keep-polling"),
        pytest.param("ManifestProblems", True, id="manifest-problems-keep-polling"),
        pytest.param("ConfigError", False, id="fixed-by-a-spec-edit-so-wait"),
    ],
)
@pytest.mark.rig
async def test_timer_ticks_poll_problem_stalls_but_not_spec_stalls(
    api: RunningApi, reason: str, polled: bool
) -> None:
    status = {
        "observedGeneration": 3,
        "lastRunTime": (NOW - timedelta(minutes=10)).isoformat(),
        "conditions": [{"type": "Stalled", "status": "True", "reason": reason}],
    }
    recorder = Recorder(PUSHED)
    await controller(api, recorder).cycle(body=body(status=status), patch=kopf.Patch(), force=False)
    assert bool(recorder.settings) is polled


@pytest.mark.parametrize(
    ("quota", "spent", "remaining"),
    [
        pytest.param(RateLimitInfo(100, 76, 21600), 24.0, 76.0, id="limit-and-remaining"),
        pytest.param(RateLimitInfo(None, 5, None), None, 5.0, id="remaining-only"),
        pytest.param(RateLimitInfo(100, None, 21600), None, None, id="limit-only-says-nothing"),
    ],
)
def test_pull_quota_answers_become_spent_and_remaining_gauges(
    quota: RateLimitInfo, spent: float | None, remaining: float | None
) -> None:
    metrics = Metrics()
    metrics.observe_quota("registry-1.docker.io", quota)
    host = {"host": "registry-1.docker.io"}
    assert metrics.registry.get_sample_value("imagebot_registry_pull_quota_spent", host) == spent
    assert (
        metrics.registry.get_sample_value("imagebot_registry_pull_quota_remaining", host)
        == remaining
    )


YAML_BOOLEAN = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    imagebot.io/automated: true
    imagebot.io/tag.app: semver:^1.0
spec:
  template:
    spec:
      containers:
      - name: app
        image: registry.example/demo/app:1.0.0
"""


def test_a_warning_from_the_files_never_stalls_an_automation_whose_update_ran() -> None:
    # The bug: the YAML-boolean warning had code "", which read as "trouble in the files", and
    # the operator marked the automation Stalled although the update had been pushed.
    targets, problems = scan_text(YAML_BOOLEAN, "web.yaml")
    assert [t.automated for t in targets] == [True]
    assert [(p.code, p.severity) for p in problems] == [
        (ProblemCode.MANIFEST_WARNING, Severity.WARNING)
    ]
    judged = judge(replace(PUSHED, problems=tuple(problems)))
    assert (judged.outcome, judged.reason, judged.retry) == ("ok", "Pushed", False)
    assert "1 problem(s)" in judged.message
