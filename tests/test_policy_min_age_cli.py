"""``imagebot policy select --min-age --now``: the minimum age of issue 17, tried on a tag list.

A tag younger than the minimum is not taken (the policy takes the best older one that still
qualifies); a tag without a time, or with one in the future, is not taken either, and stderr
(or ``refused`` in JSON) says why.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from imagebot.cli.policy_cmd import policy

TAGS = (
    "1.0.0 2024-05-01T00:00:00Z\n"
    "1.1.0 2024-05-01T09:00:00Z\n"
    "1.2.0 2024-05-01T11:00:00Z\n"
    "1.3.0\n"
    "1.4.0 2024-05-02T00:00:00Z\n"
)


def run(*args: str, stdin: str = TAGS) -> Result:
    return CliRunner().invoke(policy, ["select", *args], input=stdin)


@pytest.mark.parametrize(
    ("now", "chosen"),
    [
        pytest.param("2024-05-01T12:00:00Z", "1.1.0", id="1.2.0-is-1h-old"),
        pytest.param("2024-05-01T13:00:00Z", "1.2.0", id="1.2.0-is-exactly-2h-old"),
        pytest.param("2024-05-01T10:59:59+00:00", "1.0.0", id="1.1.0-is-not-yet-2h-old"),
    ],
)
def test_a_minimum_age_straddling_now_takes_the_newest_tag_old_enough(
    now: str, chosen: str
) -> None:
    result = run("semver:^1", "--min-age", "2h", "--now", now)

    assert (result.exit_code, result.stdout) == (0, f"{chosen}\n")


def test_stderr_says_why_each_newer_tag_was_not_taken() -> None:
    result = run("semver:^1", "--min-age", "2h", "--now", "2024-05-01T12:00:00Z")

    assert result.stderr.splitlines() == [
        "imagebot: age-unknown: 1.4.0 was created in the future (2024-05-02T00:00:00+00:00), "
        "so its age is unknown",
        "imagebot: age-unknown: 1.3.0 has no known creation time to be 2h old",
        "imagebot: too-new: 1.2.0 is 1h old, younger than 2h (taken from "
        "2024-05-01T13:00:00+00:00)",
    ]


def test_json_lists_the_refused_tags_best_first() -> None:
    result = run(
        "semver:^1", "--min-age", "90m", "--now", "2024-05-01T12:00:00Z", "--output", "json"
    )

    answer = json.loads(result.stdout)
    assert answer["chosen"] == "1.1.0"
    assert [(r["tag"], r["code"]) for r in answer["refused"]] == [
        ("1.4.0", "age-unknown"),
        ("1.3.0", "age-unknown"),
        ("1.2.0", "too-new"),
    ]


def test_json_without_min_age_has_no_refused_key() -> None:
    answer = json.loads(run("semver:^1", "--output", "json").stdout)
    assert "refused" not in answer and answer["chosen"] == "1.4.0"


def test_the_deployed_tag_stays_when_nothing_newer_is_old_enough_never_a_downgrade() -> None:
    result = run(
        "semver:^1", "--current", "1.1.0", "--min-age", "2h", "--now", "2024-05-01T10:00:00Z"
    )

    assert (result.exit_code, result.stdout) == (0, "1.1.0\n")  # not 1.0.0, which is old


def test_nothing_old_enough_is_exit_1() -> None:
    result = run("semver:^1", "--min-age", "2h", "--now", "2024-05-01T01:00:00Z")

    assert result.exit_code == 1 and result.stdout == ""
    assert "no tag chosen" in result.stderr


def test_without_now_the_clock_measures_the_age() -> None:
    result = run(
        "glob:*", "--min-age", "1h", stdin="old 2001-01-01T00:00:00Z\nnew 2999-01-01T00:00:00Z\n"
    )

    assert (result.exit_code, result.stdout) == (0, "old\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--min-age", "2 hours"], "--min-age: '2 hours' is not a duration", id="duration"
        ),
        pytest.param(["--min-age", "90"], "--min-age: '90' is not a duration", id="bare-seconds"),
        pytest.param(["--now", "2024-05-01T12:00:00Z"], "pass --min-age too", id="now-alone"),
        pytest.param(
            ["--min-age", "2h", "--now", "2024-05-01"], "--now: '2024-05-01' is not", id="now"
        ),
    ],
)
def test_bad_min_age_or_now_is_exit_2(args: list[str], message: str) -> None:
    result = run("semver:^1", *args)

    assert result.exit_code == 2
    assert message in result.stderr
