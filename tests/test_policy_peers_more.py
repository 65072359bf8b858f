"""More peer edge cases: Flux v1 globs, regexes and semver, Argo CD Image Updater, Keel, and the
acceptance README's own rules, run through `imagebot policy select` like the acceptance runner.

Sources per id prefix and the `peer/rule` id convention are described in test_policy_peers.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from imagebot.cli.policy_cmd import policy
from tests.test_policy_peers import INVALID, Case, check, hours

FLUX1 = [
    # pkg/policy/pattern_test.go, TestGlobPattern_Matches; newest creation time wins.
    pytest.param(
        Case(
            "glob:master-*",
            ["master-", "master", "foo-master"],
            "master-",
            hours("master-", "master", "foo-master"),
        ),
        id="flux1-glob-prefix",
    ),
    pytest.param(Case("*", ["1", "foo"], "foo", hours("1", "foo")), id="flux1-glob-bare-star"),
    pytest.param(
        Case("glob:v1.?", ["v1.2", "v1.10"], "v1.2", hours("v1.10", "v1.2")),
        id="flux1-glob/fnmatch-glob-question-mark",
    ),
    pytest.param(
        Case("glob:[!a]*", ["a1", "b1"], "b1", hours("b1", "a1")),
        id="flux1-glob/fnmatch-glob-negated-class",
    ),
    pytest.param(
        Case("glob:v[0-9].*", ["v1.0", "vx.0", "v10.0"], "v1.0", hours("v1.0", "vx.0", "v10.0")),
        id="flux1-glob/fnmatch-glob-range-class",
    ),
    pytest.param(
        Case(r"glob:v1\.*", ["v1.2", "v1x"], "v1.2", hours("v1.2", "v1x")),
        id="ib-glob-escaped-dot",
    ),
    pytest.param(
        Case("glob:[abc", ["a"], INVALID, hours("a")), id="ib-glob-unclosed-class-invalid"
    ),
    # pkg/update/images.go: `latest` only for the glob pattern `latest` itself (case-sensitive).
    pytest.param(
        Case("latest", ["latest", "v1"], "latest", hours("v1", "latest")), id="flux1-glob-latest"
    ),
    pytest.param(
        Case("glob:LATEST", ["LATEST", "latest"], None, hours("LATEST", "latest")),
        id="flux1-glob-latest-is-case-sensitive",
    ),
    pytest.param(
        Case("glob:lat*", ["Latest", "latest-1"], "latest-1", hours("latest-1", "Latest")),
        id="flux1-glob-latest-any-case-excluded",
    ),
    pytest.param(
        Case("regex:latest", ["latest", "latest-2"], "latest-2", hours("latest-2", "latest")),
        id="flux1-regex-latest-never",
    ),
    # pkg/image/image.go NewerByCreated: ties go to the smallest ID there; natural order here.
    pytest.param(
        Case("glob:build-*", ["build-10", "build-9"], "build-10", {"build-10": 1, "build-9": 1}),
        id="flux1-glob/time-tie-natural-order",
    ),
    pytest.param(
        Case("glob:*", ["a", "b"], "a", {"a": 2}), id="flux1-glob/missing-timestamp-others-go-on"
    ),
    # pkg/policy/pattern_test.go, TestRegexpPattern_Matches: unanchored Go regexes.
    pytest.param(
        Case(
            "regexp:^([a-zA-Z]+)$",
            ["foo", "BAR", "foo-1", "1"],
            "BAR",
            hours("foo", "BAR", "foo-1", "1"),
        ),
        id="flux1-regexp-letters-only",
    ),
    pytest.param(
        Case("regexp:(.*?)", ["x", "y"], "x", hours("y", "x")), id="flux1-regexp-lazy-all"
    ),
    pytest.param(
        Case("regex:v1$", ["v1", "v10"], "v1", hours("v1", "v10")), id="flux1-regex-end-anchor"
    ),
    pytest.param(
        Case("regex:(", ["a"], INVALID, hours("a")), id="flux1-regex/invalid-policy-error"
    ),
    # Go's regexp: flags may stand mid-pattern, `{` without a count is a literal brace.
    pytest.param(
        Case("regex:^(?i)rc-", ["RC-1", "rc-2", "x"], "rc-2", hours("RC-1", "rc-2", "x")),
        id="flux1-regex-flags-after-anchor",
    ),
    pytest.param(
        Case("regex:^a(?i)b|c", ["aB", "C", "AB"], "C", hours("aB", "C", "AB")),
        id="flux1-regex-flags-reach-past-alternation",
    ),
    pytest.param(
        Case("regex:^v{,3}1$", ["v1", "1"], None, hours("v1", "1")),
        id="flux1-regex-brace-without-count-is-literal",
    ),
    # pkg/policy/pattern_test.go, TestSemverPattern_Matches + pkg/image/image.go NewerBySemver.
    pytest.param(
        Case("semver:~1", ["v1", "1", "1.2", "1.2.3", "2.0.0", "latest"], "1.2.3"),
        id="flux1-semver-tilde-lenient",
    ),
    pytest.param(
        Case("semver:2.0.1-alpha.1", ["2.0.1", "2.0.1-alpha.1"], "2.0.1-alpha.1"),
        id="flux1-semver-exact-prerelease",
    ),
    pytest.param(Case("semver:*", ["1.10", "1.10.0"], "1.10.0"), id="flux1-semver-explicit-wins"),
    pytest.param(Case("semver:*", ["v1", "1", "1.0.0"], "1.0.0"), id="flux1-semver/semver-tie"),
]

ARGO = [
    # pkg/image/version_test.go, Test_LatestVersion
    pytest.param(
        Case("semver:~1.0", ["0.1", "0.5.1", "0.9", "1.0", "1.0.1", "1.1.2", "2.0.3"], "1.0.1"),
        id="argo-semver-tilde",
    ),
    pytest.param(Case("semver:latest", ["1.0"], INVALID), id="argo-semver-invalid-constraint"),
    pytest.param(Case("semver:~1.0", [], None), id="argo-semver-no-tags"),
    # pkg/tag/tag_test.go: SortBySemVer, SortByName, SortByDate
    pytest.param(
        Case("semver:*", ["v2.0.2", "v1.0", "v1.0.1", "v2.0.3", "v2.0"], "v2.0.3"),
        id="argo-semver-sort",
    ),
    pytest.param(
        Case("alphabetical:asc", ["wohoo", "bazar", "alpha", "jesus", "zebra"], "zebra"),
        id="argo-alphabetical-name",
    ),
    pytest.param(
        Case(
            "glob:*",
            ["v2.0.2", "v1.0", "v1.0.1", "v2.0.3", "v2.0"],
            "v2.0.2",
            {"v2.0.2": 4, "v1.0": 1, "v1.0.1": 0, "v2.0.3": 3, "v2.0": 2},
        ),
        id="argo-newest-build",
    ),
    pytest.param(
        Case(
            "glob:*",
            ["v2.0.2", "v2.0.3", "v2.0"],
            "v2.0.3",
            dict.fromkeys(["v2.0.2", "v2.0.3", "v2.0"], 0),
        ),
        id="argo-newest-build-same-dates",
    ),
    pytest.param(
        Case("regex:^build-", ["build-9", "build-10"], "build-10", {"build-9": 5, "build-10": 5}),
        id="argo-newest-build/time-tie-natural-order",
    ),
    # allow-tags regexp: becomes the filter; an invalid one matches nothing in Argo.
    pytest.param(
        Case("alphabetical:asc", ["b", "a"], INVALID, pattern="[a-"),
        id="argo-allow-tags/invalid-policy-error",
    ),
]

KEEL = [
    # internal/policy/semver_test.go, Test_shouldUpdate (one candidate against the current tag)
    pytest.param(Case("major", ["1.4.3"], None, current="1.4.5"), id="keel-major-lower"),
    pytest.param(Case("major", ["1.4.5"], None, current="1.4.5"), id="keel-major-same"),
    pytest.param(Case("major", ["2.4.5"], "2.4.5", current="1.4.5"), id="keel-major-major"),
    pytest.param(Case("patch", ["2.4.6"], None, current="1.4.5"), id="keel-patch-major-too"),
    pytest.param(Case("patch", ["1.4.4"], None, current="1.4.5"), id="keel-patch-lower"),
    pytest.param(Case("minor", ["1.4.6"], "1.4.6", current="1.4.5"), id="keel-minor-patch"),
    pytest.param(Case("minor", ["1.4.5-xx"], None, current="1.4.5"), id="keel-minor-prerelease"),
    pytest.param(
        Case("minor", ["v1.0.1-metadata"], None, current="v1.0.0"), id="keel-minor-v-prerelease"
    ),
    pytest.param(
        Case("minor", ["v1.0.1-metadata"], "v1.0.1-metadata", current="v1.0.0-metadata"),
        id="keel-minor-same-prerelease",
    ),
    pytest.param(
        Case("minor", ["1.4.6-yy", "1.4.6-xx"], "1.4.6-xx", current="1.4.5-xx"),
        id="keel-minor-prerelease-track",
    ),
    # util/version/version_test.go, TestNewAvailable (the highest that shouldUpdate accepts)
    pytest.param(Case("major", ["8.1", "8.2", "8.3"], "8.3", current="8.1"), id="keel-two-parts"),
    pytest.param(
        Case("major", ["8.2.0", "8.3.0-staging", "8.4.0-develop"], "8.2.0", current="8.1.1"),
        id="keel-major-skips-prereleases",
    ),
    pytest.param(
        Case("major", ["latest", "alpha", "1.1.2"], "1.1.2", current="1.1.1"), id="keel-mixed-tags"
    ),
    pytest.param(Case("major", ["1.1.0", "1.1.1"], None, current="1.1.1"), id="keel-no-newer"),
    pytest.param(Case("patch", ["1.2.4"], "1.2.4", current="01.2.3"), id="keel-leading-zeros"),
    pytest.param(Case("minor", ["1.3.0"], INVALID), id="ib-bump-needs-current"),
    pytest.param(Case("minor", ["1.3.0"], None, current="main"), id="keel-bump-current-main"),
    pytest.param(Case("minor", ["1.3.0"], "1.3.0", current="latest"), id="keel-bump-from-latest"),
]

IMAGEBOT = [
    # Rules of the acceptance README that every kind shares.
    pytest.param(Case("semver:*", ["1.0.0\u00a0", "0.9.0"], "0.9.0"), id="ib-invalid-tag-nbsp"),
    pytest.param(Case("alphabetical:asc", ["a b", "a"], "a"), id="ib-invalid-tag-space"),
    pytest.param(
        Case("alphabetical:asc", ["z" * 129, "y" * 128], "y" * 128), id="ib-invalid-tag-length"
    ),
    pytest.param(
        Case("semver:>=1.0.0", ["1.5.0"], "1.5.0", current="latest"), id="ib-current-not-a-version"
    ),
    pytest.param(
        Case("semver:*", ["1.5.0", "2.1.0"], "2.1.0", current="2.0.0"), id="ib-current-not-listed"
    ),
    pytest.param(Case("semver:*", ["1.5.0"], None, current="2.0.0"), id="ib/no-downgrade-semver"),
    pytest.param(
        Case("numerical:desc", ["5", "3"], "3", current="4"), id="ib/no-downgrade-numerical-desc"
    ),
    pytest.param(
        Case("alphabetical:asc", ["a", "c"], "c", current="b"), id="ib/no-downgrade-alphabetical"
    ),
    pytest.param(
        Case("glob:*", ["old", "new"], "old", {"old": 1}, current="new"),
        id="ib/current-time-unknown",
    ),
    pytest.param(
        Case("glob:*", ["cur", "old"], "cur", {"old": 1, "cur": 2}, current="gone"),
        id="ib/current-time-unknown-not-listed",
    ),
    pytest.param(
        Case("glob:*", ["old", "cur"], "cur", {"old": 1, "cur": 2}, current="cur"),
        id="ib/no-downgrade-glob-keeps-current",
    ),
    pytest.param(
        Case("glob:*", ["a", "b", "a"], "a", {"a": 3, "b": 2}), id="ib-repeated-tag-newest-entry"
    ),
    pytest.param(Case("regex:^v", ["vé", "v1"], "v1", hours("v1", "vé")), id="ib-unicode-tag"),
]


@pytest.mark.parametrize("case", FLUX1 + ARGO + KEEL + IMAGEBOT)
def test_flux1_argo_keel_and_imagebot_edges(case: Case) -> None:
    check(case)


def test_unicode_spaces_do_not_split_a_line() -> None:
    """A no-break space is part of the tag (then invalid), not a field separator."""
    result = CliRunner().invoke(policy, ["select", "alphabetical:asc"], input="b\u00a0z\na\n")
    assert (result.exit_code, result.stdout) == (0, "a\n")
