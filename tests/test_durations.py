"""Durations: the interval grammar (``imagebot run --interval``, an ImageAutomation's
``spec.interval``) is Go's ``time.ParseDuration`` syntax as Flux's CRDs admit it, never bare
seconds; other duration flags (``--interval-tick 10``) also take plain seconds. Each caller keeps
its own lower bound (the controller refuses less than a second, the CLI refuses nothing at all).
"""

from __future__ import annotations

import math
import re

import pytest
from click.testing import CliRunner

from imagebot.cli.run_cmd import run
from imagebot.controller.spec import parse_spec
from imagebot.durations import parse_duration, parse_interval
from imagebot.errors import ConfigError


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param("90s", 90.0, id="seconds"),
        pytest.param("5m", 300.0, id="minutes"),
        pytest.param("1h30m", 5400.0, id="hours-and-minutes"),
        pytest.param("1h0m30s", 3630.0, id="go-string-form"),
        pytest.param("500ms", 0.5, id="milliseconds-not-minutes"),
        pytest.param("1m30s500ms", 90.5, id="every-unit-once"),
        pytest.param("1.5h", 5400.0, id="fraction"),
        pytest.param(".5s", 0.5, id="fraction-without-integer"),
        pytest.param("250us", 0.00025, id="microseconds"),
        pytest.param("250µs", 0.00025, id="microseconds-micro-sign"),
        pytest.param("10ns", 1e-8, id="nanoseconds"),
        pytest.param("2m2m", 240.0, id="repeated-unit-adds-as-in-go"),
        pytest.param("90", 90.0, id="plain-seconds-text"),
        pytest.param("0", 0.0, id="zero"),
        pytest.param(" 5m\n", 300.0, id="surrounding-space"),
        pytest.param(90, 90.0, id="yaml-integer"),
        pytest.param(2.5, 2.5, id="yaml-float"),
    ],
)
def test_go_durations_and_plain_seconds_read_as_seconds(value: object, seconds: float) -> None:
    assert math.isclose(parse_duration(value), seconds)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("m", id="unit-without-number"),
        pytest.param("5d", id="days"),
        pytest.param("5 m", id="space-inside"),
        pytest.param("5M", id="capital-unit"),
        pytest.param("-5m", id="negative"),
        pytest.param("1h30", id="trailing-number-without-unit"),
        pytest.param("five minutes", id="words"),
        pytest.param(True, id="yaml-boolean"),
        pytest.param(-1, id="negative-number"),
        pytest.param(math.inf, id="infinite"),
        pytest.param(math.nan, id="not-a-number"),
        pytest.param(None, id="null"),
        pytest.param(["5m"], id="list"),
    ],
)
def test_anything_else_is_refused_with_an_example_of_a_duration(value: object) -> None:
    with pytest.raises(ConfigError, match=r"not a duration; (write e\.g\. 90s|use zero)"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("interval", "seconds"),
    [
        pytest.param("1h30m", 5400.0, id="go-duration"),
        pytest.param("1.5s", 1.5, id="fraction-over-the-minimum"),
        pytest.param("90s", 90.0, id="seconds"),
        pytest.param("1000ms", 1.0, id="exactly-the-minimum"),
    ],
)
def test_the_controller_reads_spec_interval_with_the_shared_grammar(
    interval: object, seconds: float
) -> None:
    spec = parse_spec({"git": {"url": "file:///r.git"}, "interval": interval})
    assert spec.interval_seconds == seconds


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        pytest.param("5 minutes", "'5 minutes' is not a duration", id="not-a-duration"),
        pytest.param("0s", "'0s' is no time at all", id="zero"),
    ],
)
def test_run_refuses_a_bad_interval_naming_the_option(interval: str, message: str) -> None:
    result = CliRunner().invoke(run, ["--interval", interval])

    assert result.exit_code == 2
    assert "--interval" in result.output and message in result.output


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        pytest.param(90, '90 is not a duration; write "90s"', id="yaml-integer"),
        pytest.param(1.5, '1.5 is not a duration; write "1.5s"', id="yaml-float"),
        pytest.param("90", "'90' is not a duration; write e.g. 90s", id="bare-seconds-text"),
        pytest.param(" 5m", "' 5m' is not a duration", id="space-the-crd-refuses"),
        pytest.param(".5h", "'.5h' is not a duration", id="fraction-without-integer"),
        pytest.param("250us", "'250us' is not a duration", id="unit-flux-does-not-take"),
        pytest.param(True, "True is not a duration; write e.g. 90s", id="yaml-boolean"),
    ],
)
def test_an_interval_is_a_go_duration_never_bare_seconds(interval: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_interval(interval)
    with pytest.raises(ConfigError, match=re.escape(f"spec.interval: {message}")):
        parse_spec({"git": {"url": "file:///r.git"}, "interval": interval})
