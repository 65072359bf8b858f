"""Planning under the rules on chosen tags (issue 17): which problems say why newer tags were
passed over, where a minimum-age wait is reported (``skipped``), that a passing failure to
examine a candidate keeps the target as it is, and that an examined digest serves a pin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from imagebot.config import GitSettings, RegistrySettings, Settings
from imagebot.errors import RegistryError, RegistryNotFound
from imagebot.model import Digest, ProblemCode, TagFacts
from imagebot.reconcile import reconcile
from imagebot.reconcile.gating import ExamineEdge, Rules
from imagebot.reconcile.plan import Plan, Selected, digests_wanted, finalize, screen, select
from imagebot.refs import ImageRef
from imagebot.registry import RepoScan
from tests.rig import ImagePusher, RegistryServer
from tests.run_support import workload
from tests.test_reconcile_plan import T0, tags, target

APP = "ghcr.io/acme/app"
BOTH = ("linux/amd64", "linux/arm64")


def plan(rules: Rules, examine: ExamineEdge, image: str = f"{APP}:1.0.0", **extra: object) -> Plan:
    screened = screen([target(image, "semver:^1", **extra)])
    scan = RepoScan(tags("1.0.0", "1.1.0", "1.2.0"))
    decisions = select(
        screened.automated, {APP: scan}, allow_downgrade=False, rules=rules, examine=examine
    )
    return finalize(decisions, {key: Digest("sha256:" + "9" * 64) for key in _keys(decisions)})


def _keys(decisions: list[Selected]) -> list[tuple[str, str]]:
    return [(image.name, tag) for image, tag in digests_wanted(decisions)]


def platforms(offered: dict[str, tuple[str, ...]], asked: list[str]) -> ExamineEdge:
    def examine(image: ImageRef, tag: str) -> TagFacts | RegistryError:
        asked.append(tag)
        return TagFacts(f"sha256:{tag.replace('.', '') * 8}", offered[tag], None)

    return examine


def test_a_newer_tag_lacking_a_platform_is_a_warning_and_the_next_one_is_taken() -> None:
    asked: list[str] = []
    examine = platforms({"1.2.0": ("linux/amd64",), "1.1.0": BOTH}, asked)

    result = plan(Rules(required_platforms=BOTH), examine)

    assert [c.new_tag for c in result.changes] == ["1.1.0"]
    (problem,) = result.problems
    assert problem.code is ProblemCode.PLATFORM_MISSING and problem.line == 10
    assert problem.message == (
        "ghcr.io/acme/app: 1 newer tag(s) skipped for registries.requiredPlatforms: "
        "1.2.0 lacks linux/arm64 (offers linux/amd64)"
    )
    assert asked == ["1.2.0", "1.1.0"]


def test_an_examined_candidate_s_digest_serves_the_pin_without_another_request() -> None:
    examine = platforms({"1.2.0": BOTH}, [])

    result = plan(Rules(required_platforms=BOTH), examine, pin_digest=True)

    (change,) = result.changes
    assert change.new_digest == "sha256:" + "120" * 8


def test_a_minimum_age_wait_is_a_skip_not_a_problem() -> None:
    def examine(image: ImageRef, tag: str) -> TagFacts | RegistryError:
        raise AssertionError("time-ordered candidates carry their times")

    screened = screen([target(f"{APP}:main-1", "glob:main-*")])
    scan = RepoScan(tags("main-1", "main-2", "main-3", step=timedelta(hours=3)))
    rules = Rules(min_age=4 * 3600.0, now=T0 + timedelta(hours=7))
    decisions = select(
        screened.automated, {APP: scan}, allow_downgrade=False, rules=rules, examine=examine
    )
    result = finalize(decisions, {})

    assert [c.new_tag for c in result.changes] == ["main-2"]
    assert result.problems == []
    (waiting,) = result.skipped
    assert waiting.code is ProblemCode.TOO_NEW
    assert "main-3 is 1h old, younger than 4h" in waiting.message


def test_a_passing_failure_examining_keeps_the_target_and_says_so() -> None:
    def examine(image: ImageRef, tag: str) -> TagFacts | RegistryError:
        return RegistryError("503 Service Unavailable")

    result = plan(Rules(required_platforms=BOTH), examine)

    assert result.changes == []
    (problem,) = result.problems
    assert problem.code is ProblemCode.REGISTRY_UNAVAILABLE
    assert "could not examine 1.2.0" in problem.message


def test_a_tag_gone_since_the_listing_is_passed_over() -> None:
    def examine(image: ImageRef, tag: str) -> TagFacts | RegistryError:
        if tag == "1.2.0":
            return RegistryNotFound("manifest unknown")
        return TagFacts("sha256:1", BOTH, None)

    result = plan(Rules(required_platforms=BOTH), examine)

    assert [c.new_tag for c in result.changes] == ["1.1.0"]
    assert [p.code for p in result.problems] == [ProblemCode.REGISTRY_REFUSED]


def test_the_annotation_s_minimum_age_wins_over_the_setting() -> None:
    own = target(f"{APP}:1.0.0")
    assert own.policy is not None
    zero = replace(own, policy=replace(own.policy, min_age=0.0))

    assert Rules(min_age=7200.0).gate_for(own).min_age == 7200.0
    assert Rules(min_age=7200.0).gate_for(zero).min_age == 0.0
    assert not Rules(min_age=7200.0).gate_for(zero).active


def test_an_index_without_the_configured_platform_is_reported_for_time_ordered_policies() -> None:
    screened = screen([target(f"{APP}:main-1", "glob:main-*")])
    scan = RepoScan(
        (*tags("main-1"),),
        off_platform={"main-2": ("linux/arm64",), "other": ("linux/arm64",)},
        platform="linux/amd64",
    )

    result = finalize(select(screened.automated, {APP: scan}, allow_downgrade=False), {})

    (problem,) = result.problems
    assert problem.code is ProblemCode.PLATFORM_MISSING
    assert "1 tag(s) the policy could choose offer no linux/amd64 image" in problem.message


@pytest.mark.rig
def test_a_refused_tag_completed_in_place_ends_the_skipping(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """The tag list does not move when a multi-arch index gains its missing platform under the
    same tag: what examining it found is part of the fingerprint, so the cycle is not skipped."""
    pusher.push_index(unique_repo, "1.0.0", created=T0, platforms=BOTH)
    pusher.push_index(unique_repo, "1.1.0", created=T0, platforms=["linux/amd64"])
    image = f"{registry.host}/{unique_repo}:1.0.0"
    remote = bare_remote({"app.yaml": workload("app", image, "semver:^1").encode()})
    settings = Settings(
        git=GitSettings(repo=remote.as_uri(), cache_dir=str(tmp_path / "git")),
        registries=RegistrySettings(cache_dir=str(tmp_path / "registry"), required_platforms=BOTH),
    )

    first = reconcile(settings)
    assert first.changes == () and first.observed is not None
    assert reconcile(settings, unchanged_since=first.observed).unchanged

    pusher.push_index(unique_repo, "1.1.0", created=T0, platforms=BOTH)
    completed = reconcile(settings, unchanged_since=first.observed)

    assert not completed.unchanged and [c.new_tag for c in completed.changes] == ["1.1.0"]
