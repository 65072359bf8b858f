"""Golden trees for every workflow command: the real CLI on a real local repository.

Each case in fixtures/workflow/ says in its case.txt what it proves; the tree after the command
must equal expected/ byte for byte, and the commit must carry the expected subject.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import SEED, assert_same_tree, tree_bytes
from tests.workflow_cases import Case, load_cases, run_case

# Each case runs the CLI on a real git repository (git runs as a child process).
pytestmark = pytest.mark.rig

CASES = load_cases()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_command_changes_exactly_what_the_golden_tree_shows(case: Case, tmp_path: Path) -> None:
    outcome = run_case(case, tmp_path)

    assert outcome.exit_code == 0, outcome.output
    assert_same_tree(outcome.tree, case.path / "expected")
    assert outcome.subject == case.subject
    assert outcome.clean, "the command left changes outside its commit"


def test_the_seed_cases_start_from_the_seed_byte_for_byte() -> None:
    for case in CASES:
        if case.name.startswith("seed-"):
            assert (case.path / "original" / "deployment.yaml").read_bytes() == SEED.read_bytes()


def test_unlock_after_lock_gives_back_the_seed(tmp_path: Path) -> None:
    locked = next(c for c in CASES if c.name == "seed-lock")
    unlock = Case("unlock", ["unlock", "deployment/fluxdemo"], "", locked.path)
    relocated = Case(unlock.name, unlock.args, unlock.subject, tmp_path / "case")
    (relocated.path / "original").mkdir(parents=True)
    for name, content in tree_bytes(locked.path / "expected").items():
        (relocated.path / "original" / name).write_bytes(content)

    outcome = run_case(relocated, tmp_path / "run")

    assert outcome.subject == "Unlock deployment/fluxdemo"
    assert_same_tree(outcome.tree, locked.path / "original")
