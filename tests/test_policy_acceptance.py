"""The acceptance data, run in-process: every policy case through the CLI command (as the
acceptance runner does, minus the process start) and every range row through the matcher.

The files are fixtures/acceptance/, kept in step with the project's shared acceptance data (see
fixtures/README.md), and the project's own cases in fixtures/policy-cases/ (same format).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from imagebot.cli.policy_cmd import policy
from imagebot.policy import parse_range, parse_version
from tests.support import FIXTURES

ACCEPTANCE = FIXTURES / "acceptance"
OWN = FIXTURES / "policy-cases"  # cases the shared data lacks, in its format (Keel from latest)
EXIT = {"selected": 0, "none": 1, "invalid-policy": 2}


def _load(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return rows


CASES = [
    *_load(ACCEPTANCE / "policy-cases.json"),
    *(case for path in sorted(OWN.glob("*.json")) for case in _load(path)),
]
ROWS = _load(ACCEPTANCE / "semver-constraints.json")


def _arguments(case: dict[str, Any]) -> list[str]:
    args = ["select", case["policy"]]
    if case.get("current") is not None:
        args += ["--current", case["current"]]
    flt = case.get("filter")
    if flt is not None:
        args += ["--filter", flt["pattern"]]
        if flt.get("extract"):
            args += ["--extract", flt["extract"]]
    return args


def _stdin(case: dict[str, Any]) -> bytes:
    created = case.get("created") or {}
    lines = [f"{tag} {created[tag]}" if tag in created else tag for tag in case["tags"]]
    return "".join(line + "\n" for line in lines).encode()


@pytest.mark.parametrize("case", [pytest.param(c, id=c["id"]) for c in CASES])
def test_policy_case_gives_the_expected_outcome(case: dict[str, Any]) -> None:
    result = CliRunner().invoke(policy, _arguments(case), input=_stdin(case))
    assert result.exit_code == EXIT[case["outcome"]], (case["why"], result.output)
    if case["outcome"] == "selected":
        assert result.stdout.strip() in (case.get("accept") or [case["expect"]]), case["why"]


@pytest.mark.parametrize(
    "row",
    [pytest.param(r, id=f"{r['constraint']} ? {r['version']}") for r in ROWS],
)
def test_range_row_matches_masterminds(row: dict[str, Any]) -> None:
    version = parse_version(row["version"])
    assert version is not None, f"{row['version']!r} should read as a version"
    assert parse_range(row["constraint"]).check(version.key) is row["expect"], row.get("note")


def test_case_ids_are_unique_across_the_files() -> None:
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids))
