"""Keel's keel.sh/ annotations and labels, read natively (issue 17): every row of the mapping
table in docs/from-keel.md has its case here, by the row's first cell, and a test checks that
the two lists are the same. A case writes one workload, scans it (the policy each container
gets, if any) and lints it (what imagebot says it cannot follow, at which line)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagebot.cli import cli
from imagebot.manifest import scan_text
from imagebot.manifest.annotations import KEEL_POLICY_KEYS
from imagebot.manifest.keel import POLICY_KEYS, glob_regex, keel_policy
from imagebot.model import PolicySpec, TagInfo
from imagebot.policy import parse_policy, select_tag
from imagebot.reconcile.lint import lint_tree
from tests.support import ROOT
from tests.workflow_cases import init_repo

Want = tuple[str, str | None, str | None] | None  # (policy, filter, extract), None: not automated


@dataclass(frozen=True)
class Row:
    annotations: dict[str, str]
    want: dict[str, Want]  # container -> what it follows
    lint: str | None = None  # a lint finding's text, at the line of the first annotation
    labels: dict[str, str] = field(default_factory=dict)
    init: bool = False  # the workload also has an init container `init`
    helm: bool = False  # a HelmRelease with Keel's chart values instead of a Deployment
    problem: str | None = None  # a scanner problem (shown by list, lint and run)
    line: int = 6  # where lint reports: the first annotation, which each case makes the one


APP = {"app": ("minor", None, None), "side": ("minor", None, None)}
OFF = {"app": None, "side": None}
FORCE = ("semver:>=0.0.0-0", None, None)

ROWS: dict[str, Row] = {
    "`keel.sh/policy: all`": Row({"keel.sh/policy": "all"}, {"app": ("all", None, None)}),
    "`keel.sh/policy: major`": Row({"keel.sh/policy": "major"}, {"app": ("major", None, None)}),
    "`keel.sh/policy: minor`": Row({"keel.sh/policy": "minor"}, APP),
    "`keel.sh/policy: patch`": Row({"keel.sh/policy": "patch"}, {"app": ("patch", None, None)}),
    "`keel.sh/policy: force`": Row({"keel.sh/policy": "force"}, {"app": FORCE, "side": FORCE}),
    '`keel.sh/policy: force` with `keel.sh/matchTag: "true"` (or `keel.sh/match-tag`)': Row(
        {"keel.sh/match-tag": "true", "keel.sh/policy": "force"},
        OFF,
        lint="keel.sh/match-tag with force cannot be followed",
    ),
    "`keel.sh/policy: glob:PATTERN`": Row(
        {"keel.sh/policy": "glob:build-*"},
        {"app": ("alphabetical:asc", "^build-.*$", None)},
    ),
    "`keel.sh/policy: regexp:PATTERN`": Row(
        {"keel.sh/policy": r"regexp:^v(?P<compare>\d+)$"},
        {"app": ("alphabetical:asc", r"^v(?P<compare>\d+)$", "$compare")},
    ),
    "`keel.sh/policy: never` (or empty)": Row({"keel.sh/policy": "never"}, OFF),
    "any other `keel.sh/policy` value": Row(
        {"keel.sh/policy": "Minor"},
        OFF,
        problem="'Minor' is no Keel policy",
        lint="'Minor' is no Keel policy",
    ),
    "`keel.sh/policy` as a label": Row(
        {}, {"app": ("patch", None, None)}, labels={"keel.sh/policy": "patch"}
    ),
    "`keel.observer/policy` (Keel's legacy name)": Row(
        {"keel.observer/policy": "major"}, {"app": ("major", None, None)}
    ),
    "`keel.sh/matchTag` without `force`": Row(
        {"keel.sh/matchTag": "true", "keel.sh/policy": "minor"},
        APP,
        lint="keel.sh/matchTag has no effect: Keel reads it only with the force policy",
    ),
    '`keel.sh/matchPreRelease: "false"`': Row(
        {"keel.sh/matchPreRelease": "false", "keel.sh/policy": "minor"},
        APP,
        lint="keel.sh/matchPreRelease: false is not followed",
    ),
    "`keel.sh/trigger: poll`": Row({"keel.sh/policy": "minor", "keel.sh/trigger": "poll"}, APP),
    "no `keel.sh/trigger` (Keel: webhooks only)": Row({"keel.sh/policy": "minor"}, APP),
    "`keel.sh/trigger: pubsub`": Row(
        {"keel.sh/trigger": "pubsub", "keel.sh/policy": "minor"},
        APP,
        lint="keel.sh/trigger: pubsub is not followed",
    ),
    "`keel.sh/pollSchedule`": Row(
        {"keel.sh/pollSchedule": "@every 5m", "keel.sh/policy": "minor"},
        APP,
        lint="keel.sh/pollSchedule is Keel's and not followed",
    ),
    '`keel.sh/initContainers: "true"`': Row(
        {"keel.sh/policy": "minor", "keel.sh/initContainers": "true"},
        {**APP, "init": ("minor", None, None)},
        init=True,
    ),
    "`keel.sh/monitorContainers: REGEX`": Row(
        {"keel.sh/policy": "minor", "keel.sh/monitorContainers": "^si"},
        {"app": None, "side": ("minor", None, None)},
    ),
    "`keel.sh/approvals`, `keel.sh/approvalDeadline`": Row(
        {"keel.sh/approvals": "2", "keel.sh/policy": "minor"},
        APP,
        lint="keel.sh/approvals is Keel's and not followed: imagebot has no approvals",
    ),
    "`keel.sh/notify`": Row(
        {"keel.sh/notify": "#deploys", "keel.sh/policy": "minor"},
        APP,
        lint="keel.sh/notify is Keel's and not followed",
    ),
    "`keel.sh/releaseNotes`": Row(
        {"keel.sh/releaseNotes": "https://example.org/notes", "keel.sh/policy": "minor"},
        APP,
        lint="keel.sh/releaseNotes is Keel's and not followed",
    ),
    "`keel.sh/imagePullSecret`": Row(
        {"keel.sh/imagePullSecret": "regcred", "keel.sh/policy": "minor"},
        APP,
        lint="repository content never names secrets",
    ),
    '`keel.sh/imageVolumes: "true"`': Row(
        {"keel.sh/imageVolumes": "true", "keel.sh/policy": "minor"},
        APP,
        lint="imagebot does not update image volume references",
    ),
    "`keel.sh/digest`, `keel.sh/update-time`": Row(
        {"keel.sh/policy": "minor", "keel.sh/digest": "sha256:00", "keel.sh/update-time": "x"},
        APP,
    ),
    "a HelmRelease's chart values `keel:`": Row(
        {},
        {"app": None},
        helm=True,
        problem="Keel's chart values (keel:) are not read",
        lint="Keel's chart values (keel:) are not read",
        line=7,
    ),
    "`imagebot.io/automated` (or Flux's) beside `keel.sh/policy`": Row(
        {"imagebot.io/automated": "false", "keel.sh/policy": "minor"}, OFF
    ),
    "`imagebot.io/tag.<container>` beside `keel.sh/policy`": Row(
        {"keel.sh/policy": "minor", "imagebot.io/tag.side": "semver:~1.2"},
        {"app": ("minor", None, None), "side": ("semver:~1.2", None, None)},
    ),
    "`imagebot.io/locked`, `ignore`, `pin-digest` beside `keel.sh/policy`": Row(
        {"keel.sh/policy": "minor", "imagebot.io/pin-digest": "true"}, APP
    ),
}


def manifest(row: Row) -> str:
    def block(name: str, entries: dict[str, str]) -> str:
        if not entries:
            return ""
        return f"  {name}:\n" + "".join(f"    {k}: '{v}'\n" for k, v in entries.items())

    meta = block("annotations", row.annotations) + block("labels", row.labels)
    if row.helm:
        return (
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n"
            f"{meta}spec:\n  values:\n    keel:\n      policy: minor\n"
            "    app:\n      image: ghcr.io/acme/app:1.2.3\n"
        )
    init = "      initContainers:\n      - {name: init, image: busybox:1.36}\n" if row.init else ""
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n{meta}"
        f"spec:\n  template:\n    spec:\n{init}      containers:\n"
        "      - {name: app, image: 'ghcr.io/acme/app:1.2.3'}\n"
        "      - {name: side, image: 'ghcr.io/acme/side:1.2.3'}\n"
    )


def follows(policy: PolicySpec | None) -> Want:
    return None if policy is None else (policy.text, policy.filter_pattern, policy.extract)


@pytest.mark.parametrize("cell", list(ROWS))
def test_each_keel_setting_maps_as_the_table_says(cell: str, tmp_path: Path) -> None:
    row = ROWS[cell]
    text = manifest(row)
    targets, problems = scan_text(text, "web.yaml")

    got = {t.container: follows(t.policy) for t in targets if t.container in row.want}
    assert got == row.want
    if row.problem is None:
        assert problems == []
    else:
        assert [p.message for p in problems if row.problem in p.message], problems
    (tmp_path / "web.yaml").write_text(text)
    findings = [f"{p.line}: {p.message}" for p in lint_tree(tmp_path)]
    if row.lint is None:
        assert [f for f in findings if "keel" in f.lower() or "automated" in f] == []
    else:
        assert any(f.startswith(f"{row.line}: ") and row.lint in f for f in findings), findings


def test_every_row_of_the_mapping_table_has_a_case() -> None:
    page = (ROOT / "docs" / "from-keel.md").read_text(encoding="utf-8")
    table = page.split("## The mapping", 1)[1].split("\n## ", 1)[0]
    cells = [
        line.split(" | ")[0].removeprefix("| ").strip()
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith(("| Keel", "| ---"))
    ]
    assert cells == list(ROWS)


def test_the_scan_looks_for_the_policy_keys_keel_reads() -> None:
    """The scan loads keel.py only for a workload with one of these keys: a key known to one
    list alone would be a Keel policy read by lint and never by the scan, or the reverse."""
    assert KEEL_POLICY_KEYS == POLICY_KEYS


def test_keel_reads_annotations_before_labels() -> None:
    row = Row({"keel.sh/policy": "major"}, {}, labels={"keel.sh/policy": "patch"})
    targets, _ = scan_text(manifest(row), "web.yaml")
    assert {follows(t.policy) for t in targets} == {("major", None, None)}
    assert targets[0].policy is not None
    assert targets[0].policy.source == "annotation keel.sh/policy: major"


def test_match_tag_is_read_from_where_the_policy_is() -> None:
    """Keel reads matchTag beside the policy: a label does not turn an annotation's force off."""
    row = Row({"keel.sh/policy": "force"}, {}, labels={"keel.sh/matchTag": "true"})
    targets, _ = scan_text(manifest(row), "web.yaml")
    assert {follows(t.policy) for t in targets} == {FORCE}


def test_lint_reads_keel_labels_too(tmp_path: Path) -> None:
    row = Row({}, {}, labels={"keel.sh/matchTag": "true", "keel.sh/policy": "force"})
    targets, _ = scan_text(manifest(row), "web.yaml")
    assert [t.policy for t in targets] == [None, None]
    (tmp_path / "web.yaml").write_text(manifest(row))
    findings = [f"{p.line}: {p.message}" for p in lint_tree(tmp_path)]
    assert [f for f in findings if f.startswith("6: ") and "with force cannot be" in f], findings


def test_an_invalid_monitor_regex_follows_no_container_and_says_so() -> None:
    row = Row({"keel.sh/policy": "minor", "keel.sh/monitorContainers": "(["}, {})
    targets, problems = scan_text(manifest(row), "web.yaml")
    assert [t.policy for t in targets] == [None, None]
    assert ["invalid regular expression" in p.message for p in problems] == [True]


def choose(spec: PolicySpec, tags: list[str], current: str) -> str | None:
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    infos = [TagInfo(tag, t0 + timedelta(hours=i)) for i, tag in enumerate(tags)]
    chosen = select_tag(parse_policy(spec), infos, current=current).chosen
    return None if chosen is None else chosen.tag


@pytest.mark.parametrize(
    ("keel", "tags", "current", "expected"),
    [
        # Keel's glob sorts matching tags as strings and needs one above the current tag
        # (internal/policy/glob.go): build-9 beats build-10, whatever was pushed last.
        pytest.param("glob:build-*", ["build-10", "build-9", "main"], "build-1", "build-9"),
        pytest.param("glob:build-*", ["build-0", "build-1"], "build-5", None, id="glob-no-down"),
        pytest.param("glob:v1.?", ["v1.x", "v1.2"], "v1.0", None, id="glob-only-star"),
        # regexp: the greatest match as a string, or its `compare` group (regexp.go).
        pytest.param(r"regexp:^v\d+$", ["v9", "v10", "x"], "v1", "v9", id="regexp-as-string"),
        pytest.param(
            r"regexp:^(?P<compare>\d+)-",
            ["2024-b", "2025-a", "2023-z"],
            "2020-a",
            "2025-a",
            id="regexp-compare-group",
        ),
        # force: the highest version, prereleases included; strictly newer than a version.
        pytest.param("force", ["1.2.0", "1.3.0-rc1", "latest"], "1.2.0", "1.3.0-rc1"),
        pytest.param("force", ["1.0.0", "2.0.0"], "main", "2.0.0", id="force-from-main"),
        pytest.param("force", ["1.0.0"], "1.1.0", None, id="force-never-down"),
    ],
)
def test_keel_policies_choose_as_keel_does(
    keel: str, tags: list[str], current: str, expected: str | None
) -> None:
    spec, error = keel_policy(keel, "test")
    assert spec is not None and error is None
    assert choose(spec, tags, current) == expected


@pytest.mark.parametrize(
    ("glob", "matches", "misses"),
    [
        ("build-*", ["build-", "build-7"], ["xbuild-7", "build"]),
        ("*-prod", ["a-prod", "-prod"], ["a-prod2"]),
        ("a*b*c", ["abc", "a-b-c"], ["acb", "ab"]),
        ("v1.2+x", ["v1.2+x"], ["v1x2+x"]),
        ("", [""], ["a"]),
    ],
)
def test_keel_globs_match_the_whole_tag_with_star_alone(
    glob: str, matches: list[str], misses: list[str]
) -> None:
    pattern = re.compile(glob_regex(glob))
    assert [bool(pattern.search(t)) for t in matches] == [True] * len(matches)
    assert [bool(pattern.search(t)) for t in misses] == [False] * len(misses)


@pytest.mark.rig  # the workflow commands commit with git
def test_deautomate_pauses_a_keel_workload_and_automate_resumes_it(tmp_path: Path) -> None:
    """Removing imagebot.io/automated (what deautomate does elsewhere) would leave a Keel
    workload automated by its keel.sh/policy: deautomate writes "false" instead."""
    row = Row({}, {}, labels={"keel.sh/policy": "minor"})
    work = init_repo(tmp_path / "work", {"web.yaml": manifest(row).encode()})

    def automated() -> bool:
        targets, _ = scan_text((work / "web.yaml").read_text(), "web.yaml")
        return all(t.automated for t in targets)

    assert automated()
    result = CliRunner().invoke(cli, ["deautomate", "deployment/web", "--repo", str(work)])
    assert result.exit_code == 0, result.output
    assert 'imagebot.io/automated: "false"' in (work / "web.yaml").read_text()
    assert not automated()
    result = CliRunner().invoke(cli, ["automate", "deployment/web", "--repo", str(work)])
    assert result.exit_code == 0, result.output
    assert automated()
