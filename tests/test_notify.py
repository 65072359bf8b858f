"""Notifications: receivers only from --config and the CR, payloads redacted and signed as Flux
signs ``generic-hmac`` webhooks, deliveries retried briefly and reported, never fatal.

The delivery tests POST to a real HTTP server on 127.0.0.1 (``tests/notify_support.py``); the
sleeps between attempts are injected, so nothing here really waits.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from imagebot.cli.notices import RunNotices
from imagebot.config import Receiver
from imagebot.controller.notices import state_of
from imagebot.controller.spec import parse_spec
from imagebot.errors import ConfigError
from imagebot.model import Change, Location, RunResult, Target, TargetKind, WorkloadId
from imagebot.notify import Notice, commit_notice
from imagebot.notify.notice import generic_body, slack_body
from imagebot.notify.post import deliver, request_for, retry_after, sign
from imagebot.refs import parse_reference
from imagebot.settings import Source, parse_settings
from tests.notify_support import WebhookReceiver, signature_valid

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOKEN = "hmac-key-5f2b9c"  # a test secret, checked never to leak
CONFIG = """\
notifications:
  - {name: ops, type: generic-hmac, addressEnv: HOOK_URL, tokenEnv: HOOK_TOKEN}
  - {type: slack, addressEnv: SLACK_URL}
"""
ENV = {
    "HOOK_URL": "https://hooks.example.org/imagebot",
    "HOOK_TOKEN": TOKEN,
    "SLACK_URL": "https://hooks.slack.com/services/T000/B000/slacksecret123",
}


def change() -> Change:
    target = Target(
        location=Location("apps/web.yaml", 12),
        kind=TargetKind.CONTAINER,
        image=parse_reference("ghcr.io/acme/web:1.0.0"),
        workload=WorkloadId("Deployment", "prod", "web"),
        container="web",
    )
    return Change(target, "ghcr.io/acme/web:1.0.0", "ghcr.io/acme/web:1.1.0", "1.1.0")


def pushed() -> RunResult:
    return RunResult(changes=(change(),), commit="a" * 40, pushed=True, branch="main")  # type: ignore[arg-type]


# --- where receivers may come from --------------------------------------------------------


def test_config_names_receivers_by_env_and_hides_their_secrets() -> None:
    settings = parse_settings(CONFIG, "imagebot-trusted.yaml", env=ENV, source=Source.CONFIG)
    ops, slack = settings.notifications
    assert (ops.name, ops.type, ops.address, ops.token) == (
        "ops",
        "generic-hmac",
        ENV["HOOK_URL"],
        TOKEN,
    )
    assert slack.address == ENV["SLACK_URL"] and slack.label == "slack receiver at hooks.slack.com"
    assert TOKEN not in repr(settings) and "slacksecret123" not in repr(settings)


def test_the_repositorys_own_imagebot_yaml_may_not_name_receivers() -> None:
    with pytest.raises(
        ConfigError, match=r"imagebot.yaml:1: notifications: not allowed in the repo"
    ):
        parse_settings(CONFIG, "imagebot.yaml", env=ENV, source=Source.REPOSITORY)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        pytest.param("{type: generic}", "needs an address", id="no-address"),
        pytest.param("{type: generic, address: ftp://h/x}", "http:// or https://", id="ftp"),
        pytest.param("{type: generic, address: 'https:///x'}", "with a host", id="no-host"),
        pytest.param("{type: generic-hmac, address: 'https://h/x'}", "signs with", id="no-token"),
        pytest.param("{type: teams, address: 'https://h/x'}", "expected one of", id="type"),
        pytest.param("{address: 'https://h/x'}", "type is required", id="no-type"),
        pytest.param(
            "{type: generic, address: 'https://h/x', secretRef: {name: s}}", "unknown key",
            id="secret-in-file",
        ),
    ],
)  # fmt: skip
def test_a_receiver_that_cannot_work_is_refused_naming_it(entry: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_settings(f"notifications:\n  - {entry}\n", "c.yaml", source=Source.CONFIG)
    assert "notifications[0]" in str(caught.value)


def test_an_invalid_address_is_refused_without_being_quoted() -> None:
    secret = "https://hooks.example.org/x y/secretpath"
    with pytest.raises(ConfigError) as caught:
        parse_settings(CONFIG, "c.yaml", env={**ENV, "HOOK_URL": secret}, source=Source.CONFIG)
    assert "secretpath" not in str(caught.value)


def test_the_resource_names_receivers_and_their_secrets() -> None:
    spec = parse_spec(
        {
            "git": {"url": "https://example.org/r.git"},
            "notifications": [
                {"type": "generic-hmac", "secretRef": {"name": "imagebot-notifications"}},
                {"name": "audit", "type": "generic", "address": "https://audit.example.org/in"},
            ],
        }
    )
    hmac_receiver, audit = spec.settings.notifications
    assert hmac_receiver.secret_ref == "imagebot-notifications" and hmac_receiver.address is None
    assert audit.label == "audit"
    with pytest.raises(ConfigError, match=r"spec.notifications\[0\].*signs with a token"):
        parse_spec(
            {
                "git": {"url": "https://example.org/r.git"},
                "notifications": [{"type": "generic-hmac", "address": "https://h.example/x"}],
            }
        )
    with pytest.raises(ConfigError, match="unknown key"):
        parse_spec(
            {
                "git": {"url": "https://example.org/r.git"},
                "notifications": [{"type": "slack", "addressEnv": "SLACK_URL"}],
            }
        )


# --- what is sent ---------------------------------------------------------------------------


def test_the_signature_is_fluxs_hmac_sha256_of_the_exact_body() -> None:
    # RFC 4231, test case 2.
    assert sign(b"what do ya want for nothing?", "Jefe") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    receiver = Receiver(type="generic-hmac", address="https://h.example/x", token=TOKEN)
    notice = commit_notice(
        pushed(), origin={"kind": "Repository", "name": "r"}, repository="r", now=NOW
    )
    assert notice is not None
    body, headers = request_for(receiver, notice)
    expected = hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Signature"] == f"sha256={expected}"
    assert (
        "X-Signature" not in request_for(Receiver(type="generic", address="https://h/x"), notice)[1]
    )


def test_the_commit_body_says_what_changed_where() -> None:
    notice = commit_notice(
        pushed(), origin={"kind": "Repository", "name": "https://git.example/r.git"},
        repository="https://git.example/r.git", now=NOW,
    )  # fmt: skip
    assert notice is not None
    body = generic_body(notice)
    assert body["schemaVersion"] == 1 and body["event"] == "commit"
    assert (body["commit"], body["branch"], body["pushed"]) == ("a" * 40, "main", True)
    assert body["timestamp"] == "2026-03-01T12:00:00Z" and body["reportingController"] == "imagebot"
    assert body["changes"] == [
        {
            "file": "apps/web.yaml", "line": 12, "workload": "Deployment/prod/web",
            "container": "web", "image": "ghcr.io/acme/web", "old": "ghcr.io/acme/web:1.0.0",
            "new": "ghcr.io/acme/web:1.1.0", "tag": "1.1.0", "digest": None,
        }
    ]  # fmt: skip
    assert "web ghcr.io/acme/web:1.0.0 -> ghcr.io/acme/web:1.1.0" in body["message"]
    assert commit_notice(RunResult(), origin={}, repository="r", now=NOW) is None


def test_bodies_pass_the_redactor_and_slack_text_is_escaped() -> None:
    from imagebot.redact import remember

    remember("leaky-credential-77")
    notice = commit_notice(
        pushed(), origin={"kind": "Repository", "name": "https://user:pw-9@git.example/<r>"},
        repository="https://user:pw-9@git.example/<r> leaky-credential-77", now=NOW,
    )  # fmt: skip
    assert notice is not None
    assert "leaky-credential-77" not in str(generic_body(notice))
    assert "pw-9" not in str(generic_body(notice))
    text = slack_body(notice)["text"]
    assert "pw-9" not in text and "&lt;r&gt;" in text and "(apps/web.yaml:12)" in text


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("", None), (None, None), ("soon", None), ("Sun, 01 Mar 2026 12:00:30 GMT", 30.0)],
)
def test_retry_after_reads_seconds_and_dates(header: str | None, seconds: float | None) -> None:
    assert retry_after(header, now=NOW.timestamp) == seconds


# --- delivering, on a real loopback server ---------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver()
    yield running
    running.stop()


def _deliver(target: Receiver, sleeps: list[float]) -> object:
    notice = commit_notice(
        pushed(), origin={"kind": "Repository", "name": "r"}, repository="r", now=NOW
    )
    assert notice is not None
    with requests.Session() as session:
        return deliver(target, notice, session=session, sleep=sleeps.append)


@pytest.mark.rig
def test_a_500_is_retried_and_the_second_attempt_delivers(receiver: WebhookReceiver) -> None:
    receiver.script["/hook"] = [500, 200]
    sleeps: list[float] = []
    target = Receiver(type="generic-hmac", address=f"{receiver.url}/hook", token=TOKEN)
    delivery = _deliver(target, sleeps)
    assert (delivery.delivered, delivery.attempts, sleeps) == (True, 2, [1.0])  # type: ignore[attr-defined]
    first, second = receiver.at("/hook")
    assert first.body == second.body and signature_valid(second, TOKEN)


@pytest.mark.rig
def test_a_receiver_that_always_fails_is_reported_after_three_attempts(
    receiver: WebhookReceiver,
) -> None:
    receiver.script["/down/secret-path-token"] = [500]
    sleeps: list[float] = []
    delivery = _deliver(
        Receiver(type="generic", address=f"{receiver.url}/down/secret-path-token"), sleeps
    )
    assert (delivery.delivered, delivery.attempts, sleeps) == (False, 3, [1.0, 3.0])  # type: ignore[attr-defined]
    assert str(delivery).endswith("failed after 3 attempt(s): HTTP 500")
    assert "secret-path-token" not in str(delivery) and "127.0.0.1" in str(delivery)


@pytest.mark.rig
def test_a_429_waits_its_retry_after_unless_it_asks_too_much(receiver: WebhookReceiver) -> None:
    receiver.script["/busy"] = [(429, {"Retry-After": "7"}), 200]
    receiver.script["/closed"] = [(429, {"Retry-After": "120"})]
    sleeps: list[float] = []
    assert _deliver(Receiver(type="slack", address=f"{receiver.url}/busy"), sleeps).delivered  # type: ignore[attr-defined]
    assert sleeps == [7.0]
    refused = _deliver(Receiver(type="slack", address=f"{receiver.url}/closed"), sleeps)
    assert (refused.attempts, str(refused).endswith("HTTP 429, asked to wait 120s")) == (1, True)  # type: ignore[attr-defined]
    assert receiver.at("/busy")[0].json()["text"].startswith("imagebot run on r: committed 1")


@pytest.mark.rig
def test_a_redirect_is_not_followed_to_another_host(receiver: WebhookReceiver) -> None:
    other = WebhookReceiver()
    try:
        receiver.script["/moved"] = [(307, {"Location": f"{other.url}/stolen"})]
        target = Receiver(type="generic-hmac", address=f"{receiver.url}/moved", token=TOKEN)
        delivery = _deliver(target, [])
        assert not delivery.delivered and delivery.attempts == 1  # type: ignore[attr-defined]
        assert "redirects are not followed" in str(delivery)
        assert other.received == []
    finally:
        other.stop()


# --- when the shells notify ----------------------------------------------------------------


class Sent:
    """Stands in for the background dispatcher: keeps what would have been sent."""

    def __init__(self) -> None:
        self.notices: list[tuple[str, object, object]] = []

    def send(self, _receivers: object, notice: Notice) -> None:
        state = notice.previous, notice.current
        self.notices.append((notice.event, *state))

    def close(self) -> None:
        pass


HOOK = (Receiver(type="generic", address="https://h.example/x"),)


def test_a_loop_tells_of_a_first_failing_cycle_and_of_each_change_after() -> None:
    sent = Sent()
    notices = RunNotices("r", loop=True)
    notices._dispatcher = sent  # type: ignore[assignment]
    notices.cycle_ended(2, None, HOOK)  # starting broken is news
    notices.cycle_ended(2, None, None)  # the same again is not; the receivers are kept
    notices.cycle_ended(0, None, None)
    notices.cycle_ended(0, RunResult(), HOOK)  # no commit, no change
    assert sent.notices == [
        ("state", {"exitCode": None}, {"exitCode": 2}),
        ("state", {"exitCode": 2}, {"exitCode": 0}),
    ]


def test_a_single_run_tells_only_of_its_commit() -> None:
    sent = Sent()
    notices = RunNotices("r", loop=False)
    notices._dispatcher = sent  # type: ignore[assignment]
    notices.cycle_ended(1, None, HOOK)
    notices.cycle_ended(0, pushed(), HOOK)
    assert sent.notices == [("commit", None, None)]


def ready(status: str, reason: str) -> dict[str, str]:
    return {"type": "Ready", "status": status, "reason": reason}


@pytest.mark.parametrize(
    ("conditions", "state"),
    [
        pytest.param(None, ("True", "False"), id="first-status"),
        pytest.param([ready("False", "Suspended")], ("True", "False"), id="suspended"),
        pytest.param(
            [ready("False", "InvalidPolicy"), {"type": "Stalled", "status": "True"}],
            ("False", "True"),
            id="stalled",
        ),
        pytest.param([ready("False", "Retrying")], ("False", "False"), id="retrying"),
    ],
)
def test_the_operator_reads_ready_and_stalled_counting_a_first_status_as_ready(
    conditions: list[dict[str, str]] | None, state: tuple[str, str]
) -> None:
    assert state_of(conditions)[0] == state


def test_the_documented_document_has_exactly_the_keys_sent() -> None:
    import json
    import re
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "notifications.md").read_text()
    (shown,) = re.findall(r"```json\n(.*?)```", page, re.DOTALL)
    documented = json.loads(shown)
    notice = commit_notice(pushed(), origin={"kind": "Repository"}, repository="r", now=NOW)
    assert notice is not None
    sent = generic_body(notice)
    assert list(documented) == list(sent)
    assert list(documented["changes"][0]) == list(sent["changes"][0])
    table = page[page.index("| key | meaning |") :].split("\n\n")[0]
    rows = set(re.findall(r"`(\w+)`", "\n".join(r.split("|")[1] for r in table.splitlines()[2:])))
    assert rows == set(sent) - {"schemaVersion", "message", "timestamp", "reportingController"}
