"""Golden trees: ``imagebot set-image`` on each case's ``original`` gives ``expected``.

Each case's ``case.txt`` says what it proves (first line), the command, and the exit code. Trees
are compared byte for byte; a mismatch prints the unified diff of every file that differs.
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagebot.cli import cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "manifests"
CASES = sorted(path.name for path in FIXTURES.iterdir() if (path / "case.txt").is_file())
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed-example" / "deployment.yaml"


def read_case(name: str) -> tuple[str, list[str], int]:
    lines = (FIXTURES / name / "case.txt").read_text(encoding="utf-8").splitlines()
    proves, command, exit_line = lines[0], lines[1].split(), lines[2].split()
    assert proves.startswith("# "), f"{name}/case.txt must open with '# what it proves'"
    assert exit_line[0] == "exit"
    return proves, command, int(exit_line[1])


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Each file's bytes by relative path; a symlink is its ``-> target``, so a link that became
    a file (or led elsewhere) shows as a difference."""
    return {
        path.relative_to(root).as_posix(): (
            b"-> " + str(path.readlink()).encode() if path.is_symlink() else path.read_bytes()
        )
        for path in sorted(root.rglob("*"))
        if path.is_symlink() or path.is_file()
    }


def assert_same_tree(actual: Path, expected: Path) -> None:
    """Byte-for-byte equality of two trees, shown as unified diffs when they differ."""
    got, want = tree_bytes(actual), tree_bytes(expected)
    assert sorted(got) == sorted(want), "the trees hold different files"
    diffs = [
        "".join(
            difflib.unified_diff(
                [repr(line) + "\n" for line in want[name].splitlines(keepends=True)],
                [repr(line) + "\n" for line in got[name].splitlines(keepends=True)],
                f"expected/{name}",
                f"actual/{name}",
            )
        )
        for name in sorted(want)
        if got[name] != want[name]
    ]
    assert not diffs, "\n".join(diffs)


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


def test_the_seed_example_fixture_is_byte_for_byte_the_shared_seed() -> None:
    assert SEED.is_file(), f"the shared seed example must stand beside the project: {SEED}"
    fixture = FIXTURES / "seed-example" / "original" / "deployment.yaml"
    assert fixture.read_bytes() == SEED.read_bytes()
    assert fixture.read_bytes().count(b" \n") == 55  # the trailing spaces the study counted


def test_every_case_changes_something_or_says_why_not() -> None:
    for case in CASES:
        proves, _, exit_code = read_case(case)
        same = tree_bytes(FIXTURES / case / "original") == tree_bytes(FIXTURES / case / "expected")
        assert same == (exit_code != 0), f"{case}: {proves}"
