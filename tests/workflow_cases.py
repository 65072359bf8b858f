"""Golden cases of the workflow commands: ``fixtures/workflow/<case>/``.

Each case has ``case.txt`` (comment lines saying what it proves, ``args:`` the command line after
``imagebot``, ``subject:`` the expected commit subject), an ``original/`` tree and the
``expected/`` tree after the command. ``run_case`` commits ``original/`` into a fresh local
repository, runs the real CLI on it and returns the tree, the exit code and the last commit.
"""

from __future__ import annotations

import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from imagebot.cli import cli
from tests.rig.bare import IDENTITY, git_env, run_git
from tests.support import FIXTURES, tree_bytes

CASES = FIXTURES / "workflow"


@dataclass(frozen=True)
class Case:
    name: str
    args: list[str]
    subject: str
    path: Path


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    output: str
    tree: dict[str, bytes]
    subject: str
    body: str
    clean: bool


def load_cases() -> list[Case]:
    cases = []
    for case_dir in sorted(p for p in CASES.iterdir() if p.is_dir()):
        fields = {}
        for line in (case_dir / "case.txt").read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
        cases.append(Case(case_dir.name, shlex.split(fields["args"]), fields["subject"], case_dir))
    return cases


def init_repo(work: Path, files: dict[str, bytes]) -> Path:
    """A local repository (no remote) whose main branch holds ``files``."""
    work.mkdir(parents=True)
    env = git_env(**IDENTITY)
    run_git("init", "--quiet", "--initial-branch=main", str(work), env=env)
    for name, content in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(content)
    run_git("-C", str(work), "add", "--all", env=env)
    run_git("-C", str(work), "commit", "--quiet", "-m", "Seed", env=env)
    return work


def run_case(case: Case, scratch: Path) -> Outcome:
    work = init_repo(scratch / "work", tree_bytes(case.path / "original"))
    result = CliRunner().invoke(cli, [*case.args, "--repo", str(work)], catch_exceptions=False)
    env = git_env()
    subject = run_git("-C", str(work), "log", "-1", "--format=%s", env=env).strip()
    body = run_git("-C", str(work), "log", "-1", "--format=%b", env=env)
    status = run_git("-C", str(work), "status", "--porcelain", env=env)
    return Outcome(result.exit_code, result.output, tree_bytes(work), subject, body, not status)


def regenerate(case: Case, scratch: Path) -> None:
    """Write ``expected/`` from the current behaviour: review its diff before committing it."""
    outcome = run_case(case, scratch)
    expected = case.path / "expected"
    shutil.rmtree(expected, ignore_errors=True)
    for name, content in outcome.tree.items():
        (expected / name).parent.mkdir(parents=True, exist_ok=True)
        (expected / name).write_bytes(content)
