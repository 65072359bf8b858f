"""Edge cases checked against the peers' own source, run through `imagebot policy select` the way
the acceptance runner does (stdin `TAG [CREATED]` lines, exit 0 / 1 / 2).

Each id names the peer and the rule it follows: `flux2-*` (fluxcd/image-reflector-controller
internal/policy/*.go; semver via fluxcd/pkg version/version.go and Masterminds/semver v3
constraints.go + version.go), `flux1-*` (fluxcd/flux pkg/policy/pattern.go, pkg/image/image.go,
pkg/update/images.go), `argo-*` (argocd-image-updater pkg/image/version.go, pkg/tag/tag.go),
`keel-*` (keel-hq/keel internal/policy/semver.go, util/version/version.go). Where imagebot
differs on purpose, the id carries the acceptance README's rule name after a slash
(`flux2-numerical/invalid-tag-...`); `ib-*` ids are imagebot's own rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from click.testing import CliRunner

from imagebot.cli.policy_cmd import policy

INVALID = "<invalid-policy>"  # expect exit 2
HOUR = "2024-03-01T{:02d}:00:00Z"


@dataclass(frozen=True)
class Case:
    policy: str
    tags: list[str]
    expect: str | None  # the chosen tag, None for "no tag qualifies", INVALID for exit 2
    created: dict[str, int] = field(default_factory=dict)  # tag -> hour of 2024-03-01
    current: str | None = None
    pattern: str | None = None
    extract: str = ""


def select(case: Case) -> tuple[int, str]:
    args = ["select", case.policy]
    if case.current is not None:
        args += ["--current", case.current]
    if case.pattern is not None:
        args += ["--filter", case.pattern]
    if case.extract:
        args += ["--extract", case.extract]
    lines = [
        f"{tag} {HOUR.format(case.created[tag])}" if tag in case.created else tag
        for tag in case.tags
    ]
    stdin = "".join(f"{line}\n" for line in lines)
    result = CliRunner().invoke(policy, args, input=stdin.encode())
    return result.exit_code, result.stdout.strip()


def hours(*tags: str) -> dict[str, int]:
    """Creation times in list order: the first tag is the oldest."""
    return {tag: n for n, tag in enumerate(tags)}


FLUX2 = [
    # internal/policy/semver_test.go, TestSemVer_Latest
    pytest.param(
        Case("semver:1.0.x", ["v1.2.3", "v1.0.0", "v0.1.0"], "v1.0.0"), id="flux2-semver-v-prefix"
    ),
    pytest.param(Case("semver:1.0.x", ["b1.2.3", "b1.0.0"], None), id="flux2-semver-bad-prefix"),
    pytest.param(Case("semver:1.0.x", ["1.2.0"], None), id="flux2-semver-nothing-in-range"),
    pytest.param(Case("semver:1.0.x", [], None), id="flux2-semver-empty-list"),
    # TestNewSemVer: valid and invalid ranges
    pytest.param(Case("semver:>0,<2.0", ["1.9.9", "2.0.0"], "1.9.9"), id="flux2-semver-comma"),
    pytest.param(Case("semver:1x", ["1.0.0"], INVALID), id="flux2-semver-invalid-1x"),
    pytest.param(Case("semver:x1", ["1.0.0"], INVALID), id="flux2-semver-invalid-x1"),
    pytest.param(Case("semver:a", ["1.0.0"], INVALID), id="flux2-semver-invalid-word"),
    pytest.param(Case("semver:", ["1.0.0"], INVALID), id="flux2-semver-invalid-empty"),
    # Masterminds version.go: leading zeros coerced (CoerceNewVersion), 4 parts and V rejected,
    # numbers up to 2^64-1, prerelease numbers without leading zeros.
    pytest.param(
        Case("semver:^1", ["01.3.0", "1.2.4"], "01.3.0"), id="flux2-semver/semver-lenient-zeros"
    ),
    pytest.param(
        Case("semver:*", ["1.2.3.4", "V9.0.0", "0.0.1"], "0.0.1"), id="flux2-semver-4-parts"
    ),
    pytest.param(
        Case("semver:*", ["18446744073709551616", "18446744073709551615"], "18446744073709551615"),
        id="flux2-semver-uint64-limit",
    ),
    pytest.param(
        Case("semver:>=0.0.0-0", ["1.0.0-rc.01", "1.0.0-rc.0"], "1.0.0-rc.0"),
        id="flux2-semver-prerelease-leading-zero",
    ),
    pytest.param(
        Case("semver:>=1.0.0-0", ["1.0.0-rc.9", "1.0.0-rc.10"], "1.0.0-rc.10"),
        id="flux2-semver-prerelease-numbers-compare-as-numbers",
    ),
    pytest.param(
        Case("semver:>=1.0.0-0", ["1.0.0-1", "1.0.0-a", "1.0.0-99"], "1.0.0-a"),
        id="flux2-semver-prerelease-words-above-numbers",
    ),
    pytest.param(
        Case(
            "semver:>=1.0.0-0",
            ["1.0.0-alpha.beta", "1.0.0-alpha.1", "1.0.0-alpha"],
            "1.0.0-alpha.beta",
        ),
        id="flux2-semver-prerelease-longer-wins",
    ),
    pytest.param(
        Case(
            "semver:>=1.0.0-0",
            ["1.0.0-rc.1", "1.0.0-rc.18446744073709551616"],
            "1.0.0-rc.18446744073709551616",
        ),
        id="flux2-semver-prerelease-huge-number-is-a-word",
    ),
    pytest.param(
        Case("semver:*", ["20221209-update-renovatejson-v4", "latest"], None),
        id="flux2-semver-date-with-prerelease-is-a-prerelease",
    ),
    # Masterminds constraints.go (current release): ^, ~, x-ranges, hyphens, ||, whitespace.
    pytest.param(
        Case("semver:~1", ["1.9.9", "2.0.0", "v1"], "1.9.9"), id="flux2-semver-tilde-major"
    ),
    pytest.param(Case("semver:^0.x", ["0.9.0", "1.0.0"], "0.9.0"), id="flux2-semver-caret-0x"),
    pytest.param(Case("semver:^0.0.x", ["0.0.9", "0.1.0"], "0.0.9"), id="flux2-semver-caret-00x"),
    pytest.param(Case("semver:^0.0.3", ["0.0.3", "0.0.4"], "0.0.3"), id="flux2-semver-caret-003"),
    pytest.param(
        Case("semver:^*", ["0.0.0", "1.0.0"], "0.0.0"), id="flux2-semver-caret-star-quirk"
    ),
    pytest.param(Case("semver:~*", ["0.0.0", "7.1.0"], "7.1.0"), id="flux2-semver-tilde-star"),
    pytest.param(
        Case("semver:>=1.2.3-0", ["1.2.2", "1.2.3-alpha"], "1.2.3-alpha"),
        id="flux2-semver-dash-zero-admits-prereleases",
    ),
    pytest.param(
        Case("semver:>=1.0.0 <2.0.0-0", ["1.9.0-beta", "2.0.0-rc.1"], "1.9.0-beta"),
        id="flux2-semver/range-prerelease-group-upper-bound",
    ),
    pytest.param(
        Case("semver:1.0.0 - 2.0.0", ["2.0.0", "2.0.1"], "2.0.0"),
        id="flux2-semver-hyphen-inclusive",
    ),
    pytest.param(
        Case("semver: >= 1.0.0 , < 2.0.0 ", ["1.5.0", "2.0.0"], "1.5.0"),
        id="flux2-semver-spaces-around-comma",
    ),
    pytest.param(
        Case("semver:<1.0.0 || >=3.0.0", ["2.0.0", "0.9.0", "3.1.0"], "3.1.0"), id="flux2-semver-or"
    ),
    pytest.param(
        Case("semver:>=1.1 <2 !=1.2.3", ["1.2.3", "1.2.2"], "1.2.2"), id="flux2-semver-not-equal"
    ),
    pytest.param(Case("semver:>1.2", ["1.2.9", "1.3.0"], "1.3.0"), id="flux2-semver-greater-line"),
    pytest.param(Case("semver:12.3.34~ 1.2.3", ["1.2.3"], INVALID), id="flux2-semver-glued-ops"),
    # internal/policy/numerical_test.go: negatives are invalid tags here.
    pytest.param(
        Case("numerical:asc", ["-62", "-88", "73", "72", "15", "16", "15", "29"], "73"),
        id="flux2-numerical-integers-asc",
    ),
    pytest.param(
        Case("numerical:desc", ["-65.27", "57.82", "22.40", "-90.29", "16.06"], "16.06"),
        id="flux2-numerical/invalid-tag-floats-desc",
    ),
    pytest.param(
        Case("numerical:desc", ["1606234201", "1606364286", "1606334092"], "1606234201"),
        id="flux2-numerical-timestamps-desc",
    ),
    pytest.param(
        Case("numerical:asc", ["0", "1a", "b"], "0"),
        id="flux2-numerical/numerical-ignores-non-numbers",
    ),
    pytest.param(Case("numerical:asc", [], None), id="flux2-numerical-empty-list"),
    pytest.param(Case("numerical:asc", ["0010", "9"], "0010"), id="flux2-numerical-leading-zeros"),
    pytest.param(Case("numerical:asc", ["5.", "4.9"], "5."), id="flux2-numerical-trailing-point"),
    pytest.param(
        Case("numerical:desc", ["v.5", "v0.6"], "v.5", pattern=r"^v(?P<n>.*)$", extract="$n"),
        id="flux2-numerical-leading-point-extracted",
    ),
    pytest.param(
        Case("numerical:asc", ["n+1", "n1"], "n1", pattern=r"^n(?P<n>.*)$", extract="$n"),
        id="flux2-numerical/numerical-tie-signed",
    ),
    pytest.param(
        Case(
            "numerical:desc",
            ["v1234567890123456789012345678901", "v1234567890123456789012345678902"],
            "v1234567890123456789012345678901",
            pattern=r"^v(?P<n>\d+)$",
            extract="$n",
        ),
        id="flux2-numerical-desc-exact-beyond-28-digits",
    ),
    # internal/policy/alphabetical_test.go
    pytest.param(
        Case("alphabetical:desc", ["16.04", "16.04.1", "16.10", "20.04"], "16.04"),
        id="flux2-alphabetical-calver-desc",
    ),
    pytest.param(
        Case("alphabetical:asc", ["xenial", "zesty", "artful"], "zesty"),
        id="flux2-alphabetical-names-asc",
    ),
    pytest.param(Case("alphabetical:asc", ["a", "B", "Zz"], "a"), id="flux2-alphabetical-bytes"),
    pytest.param(
        Case("alphabetical:desc", ["a", "ab", "b"], "a"), id="flux2-alphabetical-prefix-first"
    ),
    pytest.param(
        Case("alphabetical:asc", ["latest", "1.0"], "latest"), id="flux2-alphabetical-latest-counts"
    ),
    # internal/policy/filter.go (Regexp.ExpandString) and filter_test.go
    pytest.param(
        Case(
            "numerical:asc", ["ver1", "ver12", "rel99"], "ver12", pattern=r"ver(\d+)", extract="$1"
        ),
        id="flux2-filter-numbered-group",
    ),
    pytest.param(
        Case("numerical:asc", ["b-7", "b-10"], "b-10", pattern=r"-(?P<n>\d+)", extract="${n}"),
        id="flux2-filter-braced-name",
    ),
    pytest.param(
        Case(
            "alphabetical:asc",
            ["main-2024-01-02T03-04-05Z", "main-2023-12-31T23-59-59Z", "dev-2025-01-01T00-00-00Z"],
            "main-2024-01-02T03-04-05Z",
            pattern=r"^main-(?P<ts>.+)$",
            extract="$ts",
        ),
        id="flux2-filter-timestamp-as-string",
    ),
    pytest.param(
        Case("alphabetical:asc", ["ab", "ba"], "ba", pattern="", extract=""),
        id="flux2-filter-empty-pattern-keeps-all",
    ),
    pytest.param(
        Case("numerical:asc", ["x-1", "x-2"], "x-2", pattern=r"-(?<n>\d)", extract="$n"),
        id="flux2-filter-go-named-group",
    ),
    pytest.param(
        Case("numerical:asc", ["x-1"], INVALID, pattern=r"-(?P<n>\d)", extract="$ts"),
        id="flux2-filter/extract-unknown-group-is-invalid",
    ),
    pytest.param(
        Case("numerical:asc", ["x-1"], INVALID, pattern=r"-(\d)", extract="$2"),
        id="flux2-filter/extract-unknown-number-is-invalid",
    ),
    pytest.param(
        Case("alphabetical:asc", ["a"], INVALID, pattern="(?=a)"),
        id="flux2-filter/invalid-policy-error-lookahead",
    ),
    pytest.param(
        Case("semver:*", ["v1.2-x", "v1.10-y"], "v1.10-y", pattern=r"^v(\d+\.\d+)", extract="$1.0"),
        id="flux2-filter-template-literal-text",
    ),
]


@pytest.mark.parametrize("case", FLUX2)
def test_flux2_and_masterminds_edges(case: Case) -> None:
    check(case)


def check(case: Case) -> None:
    code, out = select(case)
    if case.expect is INVALID:
        assert code == 2, out
    elif case.expect is None:
        assert code == 1, out
    else:
        assert (code, out) == (0, case.expect)
