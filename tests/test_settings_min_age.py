"""``minAge`` (issue 17): one key in imagebot.yaml, --config and the ImageAutomation spec, a Go
duration as the CRD's pattern spells it, read into ``Settings.min_age`` in seconds."""

from __future__ import annotations

import pytest

from imagebot.controller.spec import parse_spec
from imagebot.errors import ConfigError
from imagebot.settings import Source, parse_settings

URL = "https://git.example.org/fleet.git"


@pytest.mark.parametrize("source", [Source.REPOSITORY, Source.CONFIG])
def test_the_files_read_min_age_as_seconds(source: Source) -> None:
    assert (
        parse_settings("minAge: 1h30m\n", "imagebot.yaml", env={}, source=source).min_age == 5400.0
    )


def test_no_min_age_is_none() -> None:
    assert parse_settings("paths: [apps]\n", "c.yaml", env={}, source=Source.CONFIG).min_age is None


def test_the_spec_reads_min_age() -> None:
    assert parse_spec({"git": {"url": URL}, "minAge": "2h"}).settings.min_age == 7200.0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("90", "is not a duration", id="bare-seconds"),
        pytest.param("2 hours", "is not a duration", id="words"),
        pytest.param("-1h", "is not a duration", id="negative"),
    ],
)
def test_a_min_age_that_is_no_go_duration_names_the_key(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_settings(f"minAge: '{value}'\n", "c.yaml", env={}, source=Source.CONFIG)
    assert "minAge" in str(caught.value)
