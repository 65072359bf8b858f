"""Notifications end to end: ``run --interval`` over the rig's registry and a real Git remote,
the operator's handlers over kmock, and the operator started as deploy/ starts it (its own
process, the real reconcile, a Git remote a person commits to), each telling a real webhook
receiver on 127.0.0.1.

Each notice arrives signed as Flux signs ``generic-hmac`` (checked as Flux's docs check it) and
as a Slack ``text``; a receiver that always answers 500 is retried, reported and never changes a
cycle's exit code or status; neither the signing key nor the Slack URL's token reaches any
output or log line. The waits between attempts are shortened: nothing here sleeps for long.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kopf
import pytest

from imagebot.cli import run_cmd
from imagebot.cli.common import EXIT_OK, EXIT_PROBLEMS
from imagebot.model import Problem, ProblemCode, RunResult
from imagebot.reconcile.registries import RegistryClients
from imagebot.redact import install_log_redaction
from tests.controller_support import (
    Recorder,
    apply_deploy_namespaces,
    body,
    controller,
    deployment_args,
    push_seed_images,
    rendered_deploy,
    seed_automation,
    seed_manifest,
    seeded_api,
)
from tests.kube_emulator import RunningApi
from tests.leaks import assert_no_leaks
from tests.notify_support import Received, WebhookReceiver, signature_valid
from tests.rig.bare import run_git
from tests.rig.images import ImagePusher
from tests.rig.procs import free_port, spawn, stop
from tests.rig.registry import RegistryServer
from tests.test_controller_deployed import ROOT, Kubectl, _answers, wait_for
from tests.test_notify import pushed

TOKEN = "sign-me-7c1e4a90"  # test secrets, checked never to leak
SLACK_TOKEN = "slackpathtoken42"
pytestmark = pytest.mark.rig


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    monkeypatch.setattr("imagebot.notify.post.BACKOFF_SECONDS", (0.01, 0.01))
    running = WebhookReceiver()
    running.script["/always-down"] = [500]
    yield running
    running.stop()


def events(received: list[Received], event: str) -> list[dict[str, Any]]:
    return [r.json() for r in received if r.json().get("event") == event]


def edit_remote(remote: Path, tmp_path: Path, old: bytes, new: bytes) -> None:
    """A person's commit on the remote's main: ``old`` replaced by ``new`` in deployment.yaml."""
    work = tmp_path / f"edit-{len(list(tmp_path.glob('edit-*')))}"
    run_git("clone", "--quiet", str(remote), str(work))
    file = work / "deployment.yaml"
    file.write_bytes(file.read_bytes().replace(old, new))
    ident = ("-c", "user.name=dev", "-c", "user.email=dev@example.org")
    run_git("-C", str(work), *ident, "commit", "--quiet", "-am", "edit the policy")
    run_git("-C", str(work), "push", "--quiet", "origin", "HEAD:main")


@pytest.mark.usefixtures("isolated_git")
def test_run_interval_tells_of_its_commit_and_each_change_of_exit_code(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    receiver: WebhookReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_log_redaction()  # as the CLI does first; then even urllib3's debug lines are clean
    caplog.set_level(logging.DEBUG)
    push_seed_images(pusher, unique_repo)
    remote = bare_remote({"deployment.yaml": seed_manifest(registry.host, unique_repo)})
    slack_url = f"{receiver.url}/services/T0/B0/{SLACK_TOKEN}"
    monkeypatch.setenv("OPS_HOOK_URL", f"{receiver.url}/hook")
    monkeypatch.setenv("OPS_HOOK_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_url)
    config = tmp_path / "imagebot-trusted.yaml"
    config.write_text(
        f"registries:\n  hosts:\n    {registry.host}: {{insecure: true}}\n"
        "notifications:\n"
        "  - {name: ops, type: generic-hmac, addressEnv: OPS_HOOK_URL, tokenEnv: OPS_HOOK_TOKEN}\n"
        "  - {type: slack, addressEnv: SLACK_WEBHOOK_URL}\n"
        f"  - {{name: broken, type: generic, address: '{receiver.url}/always-down'}}\n"
    )
    options = {
        "repo": remote.as_uri(), "branch": None, "paths": (), "dry_run": False,
        "no_push": False, "push_branch": None, "config_file": str(config), "interval": 60.0,
        "allow_downgrade": False, "author_name": None, "author_email": None, "strict": True,
        "output": "json",
    }  # fmt: skip
    codes: list[int] = []

    def cycle(opts: Mapping[str, Any], clients: RegistryClients[str]) -> run_cmd.Cycle:
        outcome = run_cmd._cycle(opts, clients)
        codes.append(outcome.code)
        return outcome

    def between_cycles(_seconds: float) -> None:
        if len(codes) == 1:  # someone commits a policy that does not parse: exit 3 (--strict)
            edit_remote(remote, tmp_path, b"glob:develop-v*", b"regex:(develop")
        else:  # and fixes it
            edit_remote(remote, tmp_path, b"regex:(develop", b"glob:develop-v*")

    code = run_cmd.poll(options, sleep=between_cycles, cycle=cycle, stopped=lambda: len(codes) == 3)
    assert (code, codes) == (EXIT_OK, [EXIT_OK, EXIT_PROBLEMS, EXIT_OK])

    hooks = receiver.at("/hook")
    assert all(signature_valid(r, TOKEN) for r in hooks)
    (commit,) = events(hooks, "commit")
    head = run_git("--git-dir", str(remote), "rev-parse", "main").strip()
    assert commit["commit"] == run_git("--git-dir", str(remote), "rev-parse", "main~2").strip()
    assert head != commit["commit"]
    assert (commit["branch"], commit["pushed"]) == ("main", True)
    assert [(c["container"], c["tag"], c["file"]) for c in commit["changes"]] == [
        ("flask", "develop-v1.9.0", "deployment.yaml")
    ]
    assert commit["involvedObject"] == {"kind": "Repository", "name": remote.as_uri()}
    states = [
        (s["state"]["previous"], s["state"]["current"], s["severity"])
        for s in events(hooks, "state")
    ]
    assert states == [
        ({"exitCode": 0}, {"exitCode": 3}, "error"),
        ({"exitCode": 3}, {"exitCode": 0}, "info"),
    ]
    slack = [r.json()["text"] for r in receiver.at(f"/services/T0/B0/{SLACK_TOKEN}")]
    assert len(slack) == 3 and "committed 1 image update(s)" in slack[0]
    assert "exit code 0 -&gt; 3: problems were reported (--strict)" in slack[1]

    assert len(receiver.at("/always-down")) == 9  # three notices, three attempts each
    out, err = capfd.readouterr()
    failed = "imagebot: warning: notification to broken failed after 3 attempt(s): HTTP 500"
    assert err.count(failed) == 3
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert_no_leaks([TOKEN, SLACK_TOKEN], texts={"stdout": out, "stderr": err, "log": logs})


@pytest.fixture
def api() -> Iterator[RunningApi]:
    yield from seeded_api()


def add_secret(api: RunningApi, name: str, data: Mapping[str, str]) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "my-demo"},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }
    url = f"{api.url}/api/v1/namespaces/my-demo/secrets"
    api.session.post(url, json=secret, timeout=5).raise_for_status()


@pytest.mark.asyncio
async def test_the_operator_tells_of_its_commit_and_ready_to_stalled_and_back(
    api: RunningApi,
    receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_log_redaction()  # as the operator does first
    caplog.set_level(logging.DEBUG)
    slack_url = f"{receiver.url}/services/T0/B0/{SLACK_TOKEN}"
    add_secret(api, "imagebot-notifications", {"address": f"{receiver.url}/hook", "token": TOKEN})
    add_secret(api, "slack-url", {"address": slack_url})
    spec = {
        "notifications": [
            {"type": "generic-hmac", "secretRef": {"name": "imagebot-notifications"}},
            {"type": "slack", "secretRef": {"name": "slack-url"}},
            {"name": "broken", "type": "generic", "address": f"{receiver.url}/always-down"},
        ]
    }
    stalled = RunResult(
        problems=(
            Problem("bad policy regex:(", "deployment.yaml", 12, code=ProblemCode.INVALID_POLICY),
        )
    )
    recorder = Recorder(pushed())
    ctl = controller(api, recorder)

    async def cycle(status: dict[str, Any], result: RunResult) -> dict[str, Any]:
        recorder.result = result
        patch = kopf.Patch()
        await ctl.cycle(body=body(status=status, **spec), patch=patch)
        await ctl.notices.settle()
        return {**status, **patch["status"]}

    first = await cycle({}, pushed())  # a first Ready is no news; its commit is
    second = await cycle(first, stalled)
    third = await cycle(second, RunResult())
    assert [s["conditions"][2]["status"] for s in (first, second, third)] == [
        "False",
        "True",
        "False",
    ]

    hooks = receiver.at("/hook")
    assert hooks and all(signature_valid(r, TOKEN) for r in hooks)
    (commit,) = events(hooks, "commit")
    assert commit["involvedObject"] == {
        "kind": "ImageAutomation",
        "namespace": "my-demo",
        "name": "seed",
    }
    assert commit["repository"] == "file:///srv/fluxdemo.git" and commit["commit"] == "a" * 40
    states = [(s["state"]["current"], s["severity"]) for s in events(hooks, "state")]
    assert states == [
        ({"ready": "False", "stalled": "True", "reason": "InvalidPolicy"}, "error"),
        ({"ready": "True", "stalled": "False", "reason": "UpToDate"}, "info"),
    ]
    assert "deployment.yaml:12: bad policy regex:(" in events(hooks, "state")[0]["message"]
    assert len(receiver.at(f"/services/T0/B0/{SLACK_TOKEN}")) == 3

    failures = [e for e in recorder.events if e[2] == "NotificationFailed"]
    assert len(failures) == 3 and failures[0][1] == "Warning"
    assert "notification to broken failed after 3 attempt(s): HTTP 500" in failures[0][3]
    logs = "\n".join(r.getMessage() for r in caplog.records)
    texts = {"log": logs, "events": repr(recorder.events), "status": repr(third)}
    assert_no_leaks([TOKEN, SLACK_TOKEN], texts=texts)


def readable_secrets() -> set[str]:
    """The Secret names the Role that deploy/ installs lets the operator read."""
    (role,) = [o for o in rendered_deploy() if o["kind"] == "Role"]
    return {name for rule in role["rules"] for name in rule.get("resourceNames", ())}


@pytest.mark.slow
def test_the_deployed_operator_tells_of_its_commit_and_a_persons_broken_policy_and_fix(
    tmp_path: Path,
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    receiver: WebhookReceiver,
    api: RunningApi,  # the seed's Deployment in my-demo, for the commit's event
) -> None:
    push_seed_images(pusher, unique_repo)
    remote = bare_remote({"deployment.yaml": seed_manifest(registry.host, unique_repo)})
    port = free_port()
    args = [*deployment_args(port), "--log-level", "debug"]
    namespace = args[args.index("--namespace") + 1]
    kubectl = Kubectl(api, namespace)
    apply_deploy_namespaces(api)
    # The signing key in the Secret the shipped Role names; Slack's URL (its own credential) in
    # one the user adds to that Role, as docs/notifications.md says (kmock checks no RBAC).
    assert "imagebot-notifications" in readable_secrets()
    slack_path = f"/services/T0/B0/{SLACK_TOKEN}"
    for name, data in {
        "imagebot-notifications": {"address": f"{receiver.url}/hook", "token": TOKEN},
        "slack-webhook": {"address": receiver.url + slack_path},
    }.items():
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded}
        kubectl.create(f"/api/v1/namespaces/{namespace}/secrets", secret)
    automation = seed_automation("seed", remote, registry.host)
    automation["spec"]["notifications"] = [
        {"type": "generic-hmac", "secretRef": {"name": "imagebot-notifications"}},
        {"type": "slack", "secretRef": {"name": "slack-webhook"}},
    ]
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")},
        "KUBECONFIG": str(api.write_kubeconfig(tmp_path / "kube" / "config", token_file=True)),
        "HOME": str(tmp_path / "home"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHONPATH": str(ROOT),
    }
    log = tmp_path / "operator.log"
    operator = spawn(
        [sys.executable, "-m", "imagebot", *args],
        stdout=tmp_path / "operator.out",
        stderr=log,
        env=environ,
    )

    def hooks(event: str, count: int) -> list[dict[str, Any]] | None:
        found = events(receiver.at("/hook"), event)
        return found if len(found) >= count else None

    def cycle_now() -> None:  # what `kubectl annotate imagebot.io/reconcile-at=...` does
        api.session.patch(
            f"{kubectl.automations}/seed",
            json={
                "metadata": {
                    "annotations": {"imagebot.io/reconcile-at": datetime.now(UTC).isoformat()}
                }
            },
            headers={"Content-Type": "application/merge-patch+json"},
            timeout=5,
        ).raise_for_status()

    try:
        wait_for("/readyz", lambda: _answers(f"http://127.0.0.1:{port}/readyz"), log)
        kubectl.create(kubectl.automations.removeprefix(api.url), automation)
        (commit,) = wait_for("the commit notice", lambda: hooks("commit", 1), log)
        assert commit["commit"] == run_git("--git-dir", str(remote), "rev-parse", "main").strip()
        assert [
            (c["container"], c["old"].rpartition(":")[2], c["tag"]) for c in commit["changes"]
        ] == [("flask", "develop-v1.8.0", "develop-v1.9.0")]
        assert (commit["branch"], commit["pushed"]) == ("main", True)

        edit_remote(remote, tmp_path, b"glob:develop-v*", b"regex:(develop")
        cycle_now()
        (stalled,) = wait_for("the Stalled notice", lambda: hooks("state", 1), log)
        assert stalled["severity"] == "error" and stalled["reason"] == "InvalidPolicy"
        assert "invalid policy 'regex:(develop'" in stalled["message"]
        assert stalled["state"]["previous"] == {"ready": "True", "stalled": "False"}
        assert (stalled["state"]["current"]["ready"], stalled["state"]["current"]["stalled"]) == (
            "False",
            "True",
        )
        edit_remote(remote, tmp_path, b"regex:(develop", b"glob:develop-v*")
        cycle_now()
        recovered = wait_for("the Ready notice", lambda: hooks("state", 2), log)[1]
        assert recovered["severity"] == "info"
        assert recovered["state"]["previous"] == {"ready": "False", "stalled": "True"}
        assert recovered["state"]["current"] == {
            "ready": "True",
            "stalled": "False",
            "reason": recovered["reason"],
        }
        wait_for("three Slack notices", lambda: len(receiver.at(slack_path)) >= 3, log)
        final = kubectl.automation("seed")
        seen = json.dumps([kubectl.events(namespace), kubectl.events("my-demo")])
    finally:
        stop(operator, grace=10)
    assert all(signature_valid(r, TOKEN) for r in receiver.at("/hook"))
    assert len(receiver.at("/hook")) == 3  # the commit, Ready -> Stalled, and back: no more
    texts = [r.json()["text"] for r in receiver.at(slack_path)]
    assert len(texts) == 3 and "committed 1 image update(s)" in texts[0]
    assert "Stalled=True (InvalidPolicy)" in texts[1]
    text = log.read_text() + (tmp_path / "operator.out").read_text()
    assert "Traceback" not in text
    assert_no_leaks(
        [TOKEN, SLACK_TOKEN],
        texts={"operator log": text, "events": seen, "automation": json.dumps(final)},
    )
