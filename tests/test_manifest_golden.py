"""Golden trees: ``imagebot set-image`` on each case's ``original`` gives ``expected``.

Each case's ``case.txt`` says what it proves (first line), the command, and the exit code. Trees
are compared byte for byte; a mismatch prints the unified diff of every file that differs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagebot.cli import cli
from tests import support
from tests.support import SEED, assert_same_tree, tree_bytes

FIXTURES = support.FIXTURES / "manifests"
CASES = sorted(path.name for path in FIXTURES.iterdir() if (path / "case.txt").is_file())


def read_case(name: str) -> tuple[str, list[str], int]:
    lines = (FIXTURES / name / "case.txt").read_text(encoding="utf-8").splitlines()
    proves, command, exit_line = lines[0], lines[1].split(), lines[2].split()
    assert proves.startswith("# "), f"{name}/case.txt must open with '# what it proves'"
    assert exit_line[0] == "exit"
    return proves, command, int(exit_line[1])


@pytest.mark.parametrize("case", CASES)
def test_set_image_turns_the_original_tree_into_the_expected_one(case: str, tmp_path: Path) -> None:
    _, command, exit_code = read_case(case)
    work = tmp_path / "tree"
    shutil.copytree(FIXTURES / case / "original", work, symlinks=True)
    result = CliRunner().invoke(cli, [*command, "--path", str(work)])
    assert result.exit_code == exit_code, result.output
    assert_same_tree(work, FIXTURES / case / "expected")


@pytest.mark.parametrize("case", CASES)
def test_dry_run_prints_the_diff_and_writes_nothing(case: str, tmp_path: Path) -> None:
    _, command, exit_code = read_case(case)
    work = tmp_path / "tree"
    shutil.copytree(FIXTURES / case / "original", work, symlinks=True)
    result = CliRunner().invoke(cli, [*command, "--path", str(work), "--dry-run"])
    assert result.exit_code == exit_code, result.output
    assert_same_tree(work, FIXTURES / case / "original")
    original, expected = tree_bytes(work), tree_bytes(FIXTURES / case / "expected")
    for name in sorted(expected):
        changed = original[name] != expected[name]
        assert (f"+++ b/{name}\n" in result.stdout) == changed, name


def test_the_seed_example_case_starts_from_the_seed_byte_for_byte() -> None:
    fixture = FIXTURES / "seed-example" / "original" / "deployment.yaml"
    assert fixture.read_bytes() == SEED.read_bytes()
    assert fixture.read_bytes().count(b" \n") == 55  # the trailing spaces the study counted


def test_every_case_changes_something_or_says_why_not() -> None:
    for case in CASES:
        proves, _, exit_code = read_case(case)
        same = tree_bytes(FIXTURES / case / "original") == tree_bytes(FIXTURES / case / "expected")
        assert same == (exit_code != 0), f"{case}: {proves}"
