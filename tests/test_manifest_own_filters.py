"""imagebot's own ``filter.``, ``extract.`` and ``min-age.<container>`` annotations (issue 17).

Read onto the container's ``PolicySpec`` (the default ``glob:*`` when it has no ``tag.``), only
under ``imagebot.io/`` (Flux v1 had no such keys), while Flux v1's ``filter.fluxcd.io/<c>`` keeps
its meaning: the tag policy. Lint reports what would not work, at its line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagebot.manifest import scan_text
from imagebot.model import PolicySpec
from imagebot.reconcile.lint import lint_tree
from tests.test_manifest_scan import deployment, only


def policy_of(annotations: str) -> PolicySpec | None:
    targets, problems = scan_text(deployment(annotations), "app.yaml")
    assert problems == []
    return only(targets).policy


def test_filter_and_extract_join_the_tag_policy() -> None:
    policy = policy_of(
        "imagebot.io/automated: 'true'\n"
        "imagebot.io/tag.app: numerical:asc\n"
        "imagebot.io/filter.app: '^main-(?P<ts>[0-9]+)$'\n"
        "imagebot.io/extract.app: $ts\n"
        "imagebot.io/min-age.app: 1h30m\n"
    )

    assert policy == PolicySpec(
        "numerical:asc",
        "annotation imagebot.io/tag.app",
        filter_pattern="^main-(?P<ts>[0-9]+)$",
        extract="$ts",
        min_age=5400.0,
    )


def test_a_filter_without_a_tag_policy_filters_the_default_glob() -> None:
    policy = policy_of("imagebot.io/automated: 'true'\nimagebot.io/filter.app: '^rel-'\n")

    assert policy == PolicySpec(
        "glob:*",
        "annotation imagebot.io/filter.app on the default glob:*",
        filter_pattern="^rel-",
    )


def test_flux_v1_filter_key_stays_the_tag_policy() -> None:
    policy = policy_of("fluxcd.io/automated: 'true'\nfilter.fluxcd.io/app: semver:~1.2\n")

    assert policy is not None and (policy.text, policy.filter_pattern) == ("semver:~1.2", None)


@pytest.mark.parametrize("prefix", ["fluxcd.io/", "flux.weave.works/"])
def test_only_imagebot_io_spells_the_own_settings(prefix: str) -> None:
    policy = policy_of(f"imagebot.io/automated: 'true'\n{prefix}filter.app: '^rel-'\n")

    assert policy is not None and policy.filter_pattern is None


def test_a_minimum_age_that_is_no_go_duration_is_a_problem_at_its_line() -> None:
    text = deployment("imagebot.io/automated: 'true'\nimagebot.io/min-age.app: 2 hours\n")

    targets, problems = scan_text(text, "app.yaml")

    assert [(p.line, p.message) for p in problems] == [
        (
            8,
            "annotation imagebot.io/min-age.app: '2 hours' is not a duration; "
            "write e.g. 90s, 5m or 1h30m",
        )
    ]
    policy = only(targets).policy
    assert policy is not None and policy.min_age is None  # the setting's minAge applies


def test_lint_reports_bad_filters_and_lonely_extracts_at_their_lines(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(
        deployment(
            "imagebot.io/automated: 'true'\n"
            "imagebot.io/filter.app: '^(['\n"
            "imagebot.io/extract.side: $x\n"
            "imagebot.io/filter.web: '^v(?P<n>[0-9]+)$'\n"
            "imagebot.io/extract.web: $missing\n",
            "- name: app\n  image: a:1\n- name: side\n  image: b:1\n- name: web\n  image: c:1",
        )
    )
    off = deployment("imagebot.io/filter.app: '^rel-'\n").replace("name: web", "name: off")
    (tmp_path / "off.yaml").write_text(off)

    found = [(p.file, p.line, p.message) for p in lint_tree(tmp_path)]

    assert [(file, line) for file, line, _ in found] == [
        ("app.yaml", 8),
        ("app.yaml", 9),
        ("app.yaml", 10),
        ("off.yaml", 7),
    ]
    assert "invalid filter '^(['" in found[0][2]
    assert "extract template '$x' needs a filter pattern" in found[1][2]
    assert "$missing at position 0 names a group the filter" in found[2][2]
    assert "has no effect: Deployment/shop/off is not automated" in found[3][2]


def test_lint_says_the_flux_prefixes_do_not_spell_the_own_settings(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(
        deployment("imagebot.io/automated: 'true'\nfluxcd.io/min-age.app: 2h\n")
    )

    assert [(p.line, p.message) for p in lint_tree(tmp_path)] == [
        (8, "fluxcd.io/min-age.app is not read: Flux v1 had no such setting; "
         "write imagebot.io/min-age.app")
    ]  # fmt: skip
