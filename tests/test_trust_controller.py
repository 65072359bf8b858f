"""The operator posts no credential: a registry or token server that echoes one into an error
leaves no trace of it in the automation's status, its events or kopf's error (and so its log)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import kopf
import pytest

from imagebot.errors import RegistryAuthError, RegistryError
from imagebot.model import Problem
from imagebot.redact import remember
from tests.controller_support import PUSHED, Recorder, body, controller, seeded_api
from tests.kube_emulator import RunningApi
from tests.leaks import assert_no_leaks, forms

USER, PASSWORD = "robot", "op-echoed-7c9a1e5b"
ECHO = f"token server answered 400: DENIED: bad login {USER}:{PASSWORD}"


@pytest.fixture(scope="module")
def api() -> Iterator[RunningApi]:
    yield from seeded_api()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "error",
    [
        pytest.param(RegistryAuthError(ECHO), id="permanent"),
        pytest.param(RegistryError(ECHO), id="transient"),
    ],
)
async def test_a_failed_cycle_posts_no_echoed_credential(api: RunningApi, error: Exception) -> None:
    remember(PASSWORD)  # as the credential store does when it reads the Secret
    recorder, patch = Recorder(error), kopf.Patch()
    with pytest.raises((kopf.PermanentError, kopf.TemporaryError)) as raised:
        await controller(api, recorder).cycle(body=body(), patch=patch)
    assert recorder.events and "bad login" in recorder.events[0][3]
    assert_no_leaks(
        forms(PASSWORD, USER),
        texts={
            "status": json.dumps(patch["status"]),
            "events": json.dumps(recorder.events),
            "kopf error": str(raised.value),
        },
    )


@pytest.mark.asyncio
async def test_a_cycle_with_an_echoing_problem_posts_no_credential(api: RunningApi) -> None:
    remember(PASSWORD)
    result = replace(PUSHED, problems=(Problem(ECHO, "app.yaml", 3, "r.example/app"),))
    recorder, patch = Recorder(result), kopf.Patch()
    await controller(api, recorder).cycle(body=body(), patch=patch)
    assert any(e[2] == "Problem" for e in recorder.events)
    assert_no_leaks(
        forms(PASSWORD, USER),
        texts={"status": json.dumps(patch["status"]), "events": json.dumps(recorder.events)},
    )
