"""The operator's log: one line per cycle (automation, outcome, commit, duration) as readable text
or as JSON, at the level asked for, and never a credential. Before, ``kubectl logs`` was empty:
``kopf.operator`` configures no logging and nothing logged a cycle.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import kopf
import pytest

from imagebot.controller.logs import configure_logging
from imagebot.errors import GitAuthError, RegistryError
from imagebot.redact import install_log_redaction, remember
from tests.controller_support import (
    PUSHED,
    REGCRED_PASSWORD,
    Recorder,
    body,
    controller,
    seeded_api,
)
from tests.kube_emulator import RunningApi

pytestmark = [pytest.mark.rig, pytest.mark.asyncio]  # the emulated API server serves the Secrets


@pytest.fixture(scope="module")
def api() -> Iterator[RunningApi]:
    yield from seeded_api()


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """The root logger as ``run_operator`` leaves it, writing to a buffer; restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    install_log_redaction()
    stream = io.StringIO()
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


async def test_a_pushed_cycle_is_one_readable_line(api: RunningApi, logged: io.StringIO) -> None:
    configure_logging("text", "info", logged)
    await controller(api, Recorder(PUSHED)).cycle(body=body(), patch=kopf.Patch())
    (line,) = [x for x in logged.getvalue().splitlines() if "imagebot.cycle" in x]
    assert " INFO    imagebot.cycle  my-demo/seed: cycle ok, commit abc1234 in " in line
    assert line.endswith("s: pushed abc1234 to main")


async def test_json_lines_carry_the_cycles_fields(api: RunningApi, logged: io.StringIO) -> None:
    configure_logging("json", "info", logged)
    await controller(api, Recorder(PUSHED)).cycle(body=body(), patch=kopf.Patch())
    entries = [json.loads(line) for line in logged.getvalue().splitlines()]
    (cycle,) = [e for e in entries if e["logger"] == "imagebot.cycle"]
    assert (cycle["level"], cycle["automation"], cycle["outcome"], cycle["commit"]) == (
        "info",
        "my-demo/seed",
        "ok",
        "abc1234",
    )
    assert isinstance(cycle["duration_seconds"], float)


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_a_failed_cycle_is_a_warning_without_the_credential(
    api: RunningApi, logged: io.StringIO, log_format: str
) -> None:
    remember(REGCRED_PASSWORD)  # as the Secret reader does the moment it holds the password
    leaky = GitAuthError(f"push refused for https://bot:{REGCRED_PASSWORD}@git.example/r.git")
    configure_logging(log_format, "info", logged)
    with pytest.raises(kopf.PermanentError):
        await controller(api, Recorder(leaky)).cycle(body=body(), patch=kopf.Patch())
    text = logged.getvalue()
    assert REGCRED_PASSWORD not in text
    (line,) = [x for x in text.splitlines() if "imagebot.cycle" in x]
    assert "my-demo/seed: cycle stalled in " in line
    assert ("WARNING" if log_format == "text" else '"level": "warning"') in line


async def test_the_level_hides_info_and_warning_shows(api: RunningApi, logged: io.StringIO) -> None:
    configure_logging("text", "warning", logged)
    await controller(api, Recorder(PUSHED)).cycle(body=body(), patch=kopf.Patch())
    assert "imagebot.cycle" not in logged.getvalue()
    with pytest.raises(kopf.TemporaryError):
        await controller(api, Recorder(RegistryError("registry down"))).cycle(
            body=body(), patch=kopf.Patch()
        )
    assert "my-demo/seed: cycle transient in " in logged.getvalue()
