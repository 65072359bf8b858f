"""Every text that leaves the process passes the one redactor: Kubernetes status and events, the
CLI's JSON and table, commit messages. A registry that echoes a credential into an error must
not get it posted to the API server or committed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from imagebot.cli.render import dumps, result_to_json, result_to_text
from imagebot.controller.status import Stamp, events_for_result, status_for_error, status_for_result
from imagebot.errors import RegistryAuthError
from imagebot.gitrepo.message import render_message
from imagebot.model import Problem, RunResult
from imagebot.redact import remember
from tests.leaks import assert_no_leaks

SECRET = "echoed-pw-5d41402abc4b2a76"
ECHO = f"token server said: bad login robot:{SECRET} (Authorization: Basic cm9ib3Q6eHh4eHh4)"
STAMP = Stamp(datetime(2024, 5, 1, tzinfo=UTC), {}, 1)


def echoed() -> RunResult:
    remember(SECRET)
    return RunResult(problems=(Problem(ECHO, "app.yaml", 3, "r.example/app"),))


def test_status_and_events_carry_no_echoed_credential() -> None:
    result = echoed()
    status = status_for_result(result, STAMP)
    events = events_for_result(result, namespace="ns", previous={})
    failed = status_for_error(RegistryAuthError(ECHO), STAMP)

    assert status["problems"] and events and failed["conditions"]
    assert_no_leaks(
        [SECRET, "cm9ib3Q6eHh4eHh4"],
        texts={
            "status": json.dumps(status),
            "events": json.dumps([e.message for e in events]),
            "error status": json.dumps(failed),
        },
    )


def test_a_problem_already_reported_raises_no_second_event_after_redaction() -> None:
    result = echoed()
    status = status_for_result(result, STAMP)
    assert events_for_result(result, namespace="ns", previous=status) == []


def test_cli_json_and_text_carry_no_echoed_credential() -> None:
    result = echoed()
    assert_no_leaks(
        [SECRET, "cm9ib3Q6eHh4eHh4"],
        texts={"json": dumps(result_to_json(result)), "text": result_to_text(result)},
    )


def test_a_commit_message_template_cannot_commit_a_credential() -> None:
    remember(SECRET)
    message = render_message(
        [],
        template=f"Update images\n\nfrom https://ci:{SECRET}@ci.example/job?token=abc123",
        skip_ci=False,
    )
    assert message.startswith("Update images\n")
    assert_no_leaks([SECRET, "abc123"], texts={"message": message})
