"""The gate on the candidate about to be chosen: required platforms and the minimum age.

Issue 17: ``requiredPlatforms`` was parsed and never checked, and there was no minimum age. The
gate refuses the winner and lets the policy choose again, never below the deployed tag.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from imagebot.model import ProblemCode, TagFacts, TagInfo
from imagebot.policy import Gate, Refusal, parse_policy, select_gated
from imagebot.policy.gate import MAX_EXAMINED, missing_platforms, span

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TWO_HOURS = Gate(min_age=7200.0, now=NOW)


def tags(ages: dict[str, float | None]) -> list[TagInfo]:
    """``{"1.2.0": 3}`` is tag 1.2.0 created three hours before NOW (None: no known time)."""
    return [TagInfo(tag, None if h is None else NOW - h * HOUR) for tag, h in ages.items()]


@pytest.mark.parametrize(
    ("policy", "candidates", "current", "chosen", "refused"),
    [
        pytest.param(
            "semver:^1", tags({"1.1.0": 3, "1.2.0": 1}), "1.0.0", "1.1.0", ["1.2.0"], id="too-young"
        ),
        pytest.param(
            "semver:^1",
            tags({"1.1.0": 3, "1.2.0": 2}),
            "1.0.0",
            "1.2.0",
            [],
            id="exactly-old-enough",
        ),
        pytest.param(
            "semver:^1",
            tags({"1.1.0": 3, "1.2.0": None}),
            "1.0.0",
            "1.1.0",
            ["1.2.0"],
            id="no-time",
        ),
        pytest.param(
            "semver:^1", tags({"1.1.0": 3, "1.2.0": -5}), "1.0.0", "1.1.0", ["1.2.0"], id="future"
        ),
        pytest.param(
            "semver:^1",
            tags({"1.0.0": 30, "1.1.0": 1, "1.2.0": 0.5}),
            "1.0.0",
            "1.0.0",
            ["1.2.0", "1.1.0"],
            id="never-a-downgrade-below-the-deployed-tag",
        ),
        pytest.param(
            "glob:main-*",
            tags({"main-1": 5, "main-2": 3, "main-3": 1}),
            "main-1",
            "main-2",
            ["main-3"],
            id="time-ordered",
        ),
    ],
)
def test_a_candidate_younger_than_the_minimum_age_is_not_taken_yet(
    policy: str, candidates: list[TagInfo], current: str, chosen: str, refused: list[str]
) -> None:
    gated = select_gated(parse_policy(policy), candidates, TWO_HOURS, current=current)

    assert gated.decision.chosen is not None and gated.decision.chosen.tag == chosen
    assert [info.tag for info, _ in gated.refused] == refused


def test_refusals_say_whether_the_tag_is_young_or_its_age_unknown() -> None:
    gated = select_gated(
        parse_policy("semver:^1"),
        tags({"1.1.0": 3, "1.2.0": 1, "1.3.0": None, "1.4.0": -1}),
        TWO_HOURS,
    )

    codes = {info.tag: (r.code, r.why) for info, r in gated.refused}
    assert codes["1.4.0"][0] is ProblemCode.AGE_UNKNOWN and "future" in codes["1.4.0"][1]
    assert codes["1.3.0"][0] is ProblemCode.AGE_UNKNOWN
    assert "no known creation time" in codes["1.3.0"][1]
    assert codes["1.2.0"] == (
        ProblemCode.TOO_NEW,
        "is 1h old, younger than 2h (taken from 2024-05-01T13:00:00+00:00)",
    )


def test_a_later_cycle_takes_the_tag_once_it_is_old_enough() -> None:
    candidates = tags({"1.1.0": 3, "1.2.0": 1})
    later = Gate(min_age=7200.0, now=NOW + 2 * HOUR)

    gated = select_gated(parse_policy("semver:^1"), candidates, later, current="1.1.0")

    assert gated.decision.chosen is not None and gated.decision.chosen.tag == "1.2.0"


def test_without_rules_the_gate_examines_nothing() -> None:
    def examine(info: TagInfo) -> TagFacts:
        raise AssertionError(f"examined {info.tag}")

    gated = select_gated(parse_policy("semver:^1"), tags({"1.2.0": 0}), Gate(), examine=examine)

    assert gated.decision.chosen is not None and gated.decision.chosen.tag == "1.2.0"


def test_required_platforms_examine_only_the_candidates_about_to_be_chosen() -> None:
    offered = {
        "3.0.0": ("linux/amd64",),
        "2.0.0": ("linux/amd64", "linux/arm64/v8"),
        "1.5.0": ("linux/amd64", "linux/arm64"),
    }
    asked: list[str] = []

    def examine(info: TagInfo) -> TagFacts:
        asked.append(info.tag)
        return TagFacts(f"sha256:{info.tag}", offered[info.tag], None)

    gate = Gate(required_platforms=("linux/amd64", "linux/arm64"))
    gated = select_gated(
        parse_policy("semver:*"), tags({"1.5.0": 9, "2.0.0": 9, "3.0.0": 9}), gate, examine=examine
    )

    assert gated.decision.chosen is not None and gated.decision.chosen.tag == "2.0.0"
    assert asked == ["3.0.0", "2.0.0"]  # 1.5.0 is never examined
    assert gated.facts is not None and gated.facts.digest == "sha256:2.0.0"
    ((info, refusal),) = gated.refused
    assert info.tag == "3.0.0" and refusal.code is ProblemCode.PLATFORM_MISSING
    assert refusal.why == "lacks linux/arm64 (offers linux/amd64)"


def test_a_refusal_from_the_registry_drops_that_candidate_only() -> None:
    def examine(info: TagInfo) -> TagFacts | Refusal:
        if info.tag == "2.0.0":
            return Refusal(ProblemCode.REGISTRY_REFUSED, "could not be examined (404)")
        return TagFacts("sha256:1", ("linux/amd64",), None)

    gate = Gate(required_platforms=("linux/amd64",))
    gated = select_gated(
        parse_policy("semver:*"), tags({"1.0.0": 9, "2.0.0": 9}), gate, examine=examine
    )

    assert gated.decision.chosen is not None and gated.decision.chosen.tag == "1.0.0"


def test_examining_stops_after_a_bound_and_chooses_nothing() -> None:
    many = [TagInfo(f"1.{n}.0") for n in range(MAX_EXAMINED + 5)]
    count = 0

    def examine(info: TagInfo) -> TagFacts:
        nonlocal count
        count += 1
        return TagFacts("sha256:x", ("linux/amd64",), None)

    gate = Gate(required_platforms=("linux/arm64",))
    gated = select_gated(parse_policy("semver:*"), many, gate, examine=examine)

    assert gated.decision.chosen is None and gated.exhausted
    assert count == MAX_EXAMINED == len(gated.refused)


def test_a_minimum_age_for_a_policy_not_ordered_by_time_reads_the_chosen_tag_s_time() -> None:
    asked: list[str] = []

    def examine(info: TagInfo) -> TagFacts:
        asked.append(info.tag)
        age = {"1.2.0": 1, "1.1.0": 3}[info.tag]
        return TagFacts("sha256:x", ("linux/amd64",), NOW - age * HOUR)

    listed = [TagInfo("1.0.0"), TagInfo("1.1.0"), TagInfo("1.2.0")]
    gated = select_gated(
        parse_policy("semver:^1"), listed, TWO_HOURS, examine=examine, current="1.0.0"
    )

    assert gated.decision.chosen is not None and gated.decision.chosen.tag == "1.1.0"
    assert asked == ["1.2.0", "1.1.0"]


@pytest.mark.parametrize(
    ("offered", "required", "missing"),
    [
        pytest.param(["linux/arm64/v8"], ["linux/arm64"], [], id="variant-offers-the-arch"),
        pytest.param(["linux/arm64"], ["linux/arm64/v8"], ["linux/arm64/v8"], id="variant-exact"),
        pytest.param(["linux/arm/v7"], ["linux/arm/v6"], ["linux/arm/v6"], id="other-variant"),
        pytest.param([], ["linux/amd64"], ["linux/amd64"], id="nothing-offered"),
        pytest.param(["linux/amd64"], [], [], id="nothing-required"),
    ],
)
def test_missing_platforms(offered: list[str], required: list[str], missing: list[str]) -> None:
    assert missing_platforms(offered, required) == missing


@pytest.mark.parametrize(
    ("seconds", "text"), [(7200, "2h"), (5400, "1h30m"), (45, "45s"), (0, "0s"), (3661, "1h1m1s")]
)
def test_durations_are_shown_as_go_spells_them(seconds: float, text: str) -> None:
    assert span(seconds) == text
