"""Deciding what to change is pure: targets + registry answers + policies -> decisions, then
decisions + the digests fetched for them -> changes and problems."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from imagebot.errors import RegistryAuthError, RegistryError
from imagebot.model import (
    Automation,
    Digest,
    Location,
    PolicySpec,
    ProblemCode,
    TagInfo,
    Target,
    TargetKind,
    WorkloadId,
)
from imagebot.reconcile.plan import (
    DigestAnswers,
    Plan,
    digests_wanted,
    finalize,
    registry_queries,
    screen,
    select,
)
from imagebot.refs import parse_reference
from imagebot.registry import RepoScan

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PIN = Digest("sha256:" + "1" * 64)
OLD_PIN = Digest("sha256:" + "0" * 64)


def target(
    image: str, policy: str | None = "semver:^1.0", line: int = 10, **extra: object
) -> Target:
    return Target(
        location=Location("apps/app.yaml", line),
        kind=TargetKind.CONTAINER,
        image=parse_reference(image),
        workload=WorkloadId("Deployment", None, "app"),
        container="app",
        policy=PolicySpec(policy, "annotation imagebot.io/tag.app") if policy else None,
        automation=Automation(automated=policy is not None, **extra),  # type: ignore[arg-type]
    )


def tags(*names: str, step: timedelta = timedelta(hours=1)) -> tuple[TagInfo, ...]:
    return tuple(TagInfo(name, created=T0 + i * step) for i, name in enumerate(names))


def plan_for(
    targets: list[Target],
    scans: dict[str, RepoScan],
    *,
    allow_downgrade: bool = False,
    digests: DigestAnswers | None = None,
) -> Plan:
    """Screen, select and finalize as run.py does, answering every wanted digest with ``PIN``
    (or from ``digests``); the digests asked for are recorded in ``chosen["lookups"]``."""
    screened = screen(targets)
    decisions = select(screened.automated, scans, allow_downgrade=allow_downgrade)
    wanted = [(image.name, tag) for image, tag in digests_wanted(decisions)]
    plan = finalize(decisions, digests if digests is not None else dict.fromkeys(wanted, PIN))
    plan.problems[:0] = screened.problems
    plan.skipped[:0] = screened.skipped
    plan.chosen["lookups"] = repr(wanted)
    return plan


APP = "docker.io/team/app"


def test_a_newer_tag_becomes_one_change_with_old_and_new_reference() -> None:
    plan = plan_for([target("team/app:1.0.0")], {APP: RepoScan(tags("1.0.0", "1.2.0", "2.0.0"))})
    assert [(c.old, c.new, c.new_tag) for c in plan.changes] == [
        ("team/app:1.0.0", "team/app:1.2.0", "1.2.0")
    ]
    assert plan.problems == []


def test_the_current_tag_still_winning_is_no_change() -> None:
    plan = plan_for([target("team/app:1.2.0")], {APP: RepoScan(tags("1.0.0", "1.2.0"))})
    assert plan.changes == [] and plan.problems == []


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        pytest.param({"locked": True, "locked_message": "freeze"}, "skipped", id="locked"),
        pytest.param({"ignored": True}, None, id="ignored"),
        pytest.param({"policy": None}, None, id="not-automated"),
    ],
)
def test_locked_ignored_and_manual_targets_are_left_alone(
    extra: dict[str, object], where: str | None
) -> None:
    plan = plan_for([target("team/app:1.0.0", **extra)], {APP: RepoScan(tags("1.0.0", "1.2.0"))})
    assert plan.changes == []
    if where == "skipped":
        assert [p.code for p in plan.skipped] == ["locked"] and "freeze" in plan.skipped[0].message
    else:
        assert plan.skipped == [] and plan.problems == []


def test_an_invalid_policy_is_a_problem_at_its_line_and_others_go_on() -> None:
    bad = target("team/app:1.0.0", policy="semver:>>1", line=3)
    good = target("team/app:1.0.0", line=20)
    plan = plan_for([bad, good], {APP: RepoScan(tags("1.0.0", "1.1.0"))})
    assert [c.target.location.line for c in plan.changes] == [20]
    assert [(p.line, p.code) for p in plan.problems] == [(3, "invalid-policy")]
    assert "semver:>>1" in plan.problems[0].message


@pytest.mark.parametrize(
    ("scan", "code"),
    [
        pytest.param(
            RepoScan(tags("1.0.0", "1.9.0"), stale=True), "registry-unavailable", id="429"
        ),
        pytest.param(RepoScan(problem="connection refused"), "registry-unavailable", id="down"),
        pytest.param(
            RepoScan(problem="401 unauthorized", permanent=True), "registry-refused", id="401"
        ),
    ],
)
def test_a_registry_that_failed_changes_nothing_for_its_images(scan: RepoScan, code: str) -> None:
    plan = plan_for([target("team/app:1.0.0")], {APP: scan})
    assert plan.changes == []
    assert [p.code for p in plan.problems] == [code]


def test_a_downgrade_is_refused_unless_allowed() -> None:
    scans = {APP: RepoScan(tags("1.0.0", "1.1.0"))}
    assert plan_for([target("team/app:1.5.0")], scans).changes == []
    allowed = plan_for([target("team/app:1.5.0")], scans, allow_downgrade=True)
    assert [c.new_tag for c in allowed.changes] == ["1.1.0"]


def test_a_pinned_target_gets_tag_and_digest_and_follows_a_moved_tag() -> None:
    moved = target(f"team/app:1.2.0@{OLD_PIN}", pin_digest=True)
    plan = plan_for([moved], {APP: RepoScan(tags("1.0.0", "1.2.0"))})
    assert [c.new for c in plan.changes] == [f"team/app:1.2.0@{PIN}"]
    assert plan.chosen["lookups"] == repr([(APP, "1.2.0")])


def test_a_reference_with_a_digest_moves_tag_and_digest_together() -> None:
    plan = plan_for([target(f"team/app:1.0.0@{OLD_PIN}")], {APP: RepoScan(tags("1.0.0", "1.2.0"))})
    assert [(c.new, c.new_digest) for c in plan.changes] == [(f"team/app:1.2.0@{PIN}", PIN)]


def test_a_reference_with_a_digest_is_not_looked_up_when_its_tag_stays() -> None:
    plan = plan_for([target(f"team/app:1.2.0@{OLD_PIN}")], {APP: RepoScan(tags("1.0.0", "1.2.0"))})
    assert plan.changes == [] and plan.chosen["lookups"] == "[]"


def test_keel_bumps_need_a_current_tag() -> None:
    plan = plan_for([target(f"team/app@{OLD_PIN}", policy="minor")], {APP: RepoScan(tags("1.0.0"))})
    assert plan.changes == [] and "needs a current tag" in plan.problems[0].message


def test_one_query_per_repository_asks_for_what_its_strictest_policy_needs() -> None:
    automated = screen(
        [
            target("team/app:1.0.0", policy="semver:^1.0", line=1),
            target("team/app:main-1", policy="glob:main-*", line=2),
            target("team/other:1.0.0", policy="semver:~1.0", line=3),
        ],
    ).automated
    queries = {q.image.name: q for q in registry_queries(automated)}
    assert sorted(queries) == [APP, "docker.io/team/other"]
    assert queries[APP].needs_created and not queries["docker.io/team/other"].needs_created
    wants = queries[APP].wants
    assert wants is not None and wants("main-3") and wants("1.4.0") and not wants("dev-1")


def test_selection_asks_for_each_missing_digest_once_and_never_for_a_listed_one() -> None:
    listed = TagInfo("1.2.0", created=T0, digest=PIN)
    twins = [target(f"team/app:1.0.0@{OLD_PIN}", line=n) for n in (1, 2)]
    decisions = select(screen(twins).automated, {APP: RepoScan(tags("1.0.0", "1.1.0"))},
                       allow_downgrade=False)  # fmt: skip
    assert [(i.name, tag) for i, tag in digests_wanted(decisions)] == [(APP, "1.1.0")]
    decisions = select(screen(twins).automated, {APP: RepoScan((listed,))}, allow_downgrade=False)
    assert digests_wanted(decisions) == []
    assert [c.new_digest for c in finalize(decisions, {}).changes] == [PIN, PIN]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        pytest.param(RegistryError("503"), ProblemCode.REGISTRY_UNAVAILABLE, id="passing"),
        pytest.param(RegistryAuthError("403"), ProblemCode.REGISTRY_REFUSED, id="403"),
    ],
)
def test_a_digest_the_registry_would_not_give_leaves_the_pin_alone_and_says_why(
    error: RegistryError, code: ProblemCode
) -> None:
    pinned = target(f"team/app:1.0.0@{OLD_PIN}")
    plan = plan_for(
        [pinned], {APP: RepoScan(tags("1.0.0", "1.1.0"))}, digests={(APP, "1.1.0"): error}
    )
    assert plan.changes == []
    assert [p.code for p in plan.problems] == [code, ProblemCode.NO_DIGEST]
