"""The workflow commands' contract: exit codes, refusals that touch nothing, dry runs, lint output,
and the pre-commit hook definition. Real CLI, real local Git repositories."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from imagebot.cli import cli
from imagebot.model import WorkloadId
from tests.rig.bare import git_env, run_git
from tests.support import tree_bytes
from tests.workflow_cases import CASES, init_repo

ROOT = Path(__file__).resolve().parent.parent
SEED = (CASES / "seed-lock" / "original" / "deployment.yaml").read_bytes()
TWO_WEBS = b"""\
kind: Deployment
metadata: {name: web, namespace: prod}
spec: {template: {spec: {containers: [{name: web, image: example.org/web:1}]}}}
---
kind: Deployment
metadata: {name: web, namespace: staging}
spec: {template: {spec: {containers: [{name: web, image: example.org/web:1}]}}}
"""
LOCKED = b"""\
kind: Deployment
metadata:
  name: pay
  annotations:
    imagebot.io/locked: "true"
    imagebot.io/locked_msg: audit
spec: {template: {spec: {containers: [{name: pay, image: example.org/pay:1.0.0}]}}}
"""


def invoke(work: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*args, "--repo", str(work)])
    return result.exit_code, result.stdout, result.stderr


def head(work: Path) -> str:
    return run_git("-C", str(work), "rev-parse", "HEAD", env=git_env()).strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(
        tmp_path / "work",
        {"deployment.yaml": SEED, "webs.yaml": TWO_WEBS, "pay.yaml": LOCKED},
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(
            ["automate", "deployment/web"],
            2,
            "ambiguous: name it as KIND/NAMESPACE/NAME; candidates: "
            "Deployment/prod/web (webs.yaml:1), Deployment/staging/web (webs.yaml:5)",
            id="ambiguous-workload-lists-candidates",
        ),
        pytest.param(
            ["lock", "deployment/nope"], 2, "no workload Deployment/*/nope found", id="missing"
        ),
        pytest.param(
            ["policy", "deployment/fluxdemo", "--tag", "flask=semver:~~1"],
            2,
            "policy 'semver:~~1': invalid semver range",
            id="invalid-policy-refused-with-the-parser-message",
        ),
        pytest.param(
            ["policy", "deployment/fluxdemo", "--tag", "redis=glob:*"],
            2,
            "has no container 'redis'; its containers: nginx, flask",
            id="unknown-container",
        ),
        pytest.param(
            ["policy", "deployment/fluxdemo", "--tag", "flask"],
            2,
            "write it as CONTAINER=POLICY",
            id="tag-without-policy",
        ),
        pytest.param(
            ["policy", "deployment/fluxdemo"], 2, "say what to change", id="policy-needs-a-change"
        ),
        pytest.param(
            ["release", "--image", "example.org/pay"], 2, "give a tag", id="release-needs-a-tag"
        ),
        pytest.param(
            ["release", "--image", "example.org/pay:2.0.0"],
            5,
            "deployment/default/pay is locked: audit; unlock it to release",
            id="locked-workload-refused-without-force",
        ),
        pytest.param(
            ["release", "--image", "example.org/nothing:1"],
            5,
            "",
            id="release-of-an-unknown-image-matches-nothing",
        ),
    ],
)
@pytest.mark.rig
def test_refused_requests_exit_with_their_code_and_change_nothing(
    repo: Path, args: list[str], code: int, message: str
) -> None:
    before, files = head(repo), tree_bytes(repo)

    exit_code, _, stderr = invoke(repo, *args)

    assert exit_code == code
    assert message.lower() in stderr.lower()
    assert head(repo) == before
    assert tree_bytes(repo) == files


@pytest.mark.rig
def test_dry_run_prints_the_diff_and_touches_nothing(repo: Path) -> None:
    before, files = head(repo), tree_bytes(repo)

    code, stdout, _ = invoke(repo, "lock", "my-demo:deployment/fluxdemo", "-m", "hold", "--dry-run")

    assert code == 0
    assert "+    flux.weave.works/locked: 'true'\n" in stdout
    assert stdout.startswith("--- a/deployment.yaml\n+++ b/deployment.yaml\n")
    assert (head(repo), tree_bytes(repo)) == (before, files)


@pytest.mark.rig
def test_a_workload_already_so_needs_no_commit(repo: Path) -> None:
    before = head(repo)

    code, stdout, _ = invoke(repo, "automate", "deployment/fluxdemo")

    assert code == 0
    assert "already so; nothing to do" in stdout
    assert head(repo) == before


@pytest.mark.rig
def test_commit_carries_the_author_and_the_requesting_user(repo: Path) -> None:
    code, _, _ = invoke(
        repo, "automate", "prod:deployment/web", "--author-name", "Ann", "--author-email",
        "ann@example.org", "--user", "ann", "-m", "Automate web in prod",
    )  # fmt: skip

    assert code == 0
    log = run_git("-C", str(repo), "log", "-1", "--format=%an <%ae>|%s|%b", env=git_env())
    author, subject, body = log.split("|")
    assert (author, subject) == ("Ann <ann@example.org>", "Automate web in prod")
    assert body.strip().endswith("Requested-by: ann")


@pytest.mark.rig
def test_policy_on_a_workload_that_is_not_automated_says_so(repo: Path) -> None:
    code, stdout, _ = invoke(repo, "policy", "staging:deployment/web", "--tag-all", "semver:^1")

    assert code == 0
    assert "Deployment/staging/web is not automated" in stdout
    assert "`imagebot automate Deployment/staging/web`" in stdout


def test_lint_reports_each_finding_as_file_line_message() -> None:
    result = CliRunner().invoke(cli, ["lint", "--repo", str(ROOT / "fixtures/lint/findings")])

    assert result.exit_code == 4
    lines = result.stdout.splitlines()
    expected = [
        (
            "apps.yaml:8: ",
            "invalid policy 'semver:~~1' (annotation imagebot.io/tag.app) of "
            "Deployment/default/bad-policy: ",
        ),
        ("apps.yaml:22: ", "YAML boolean true"),
        ("apps.yaml:37: ", "container 'nope'"),
        (
            "apps.yaml:51: ",
            "Deployment/default/manual is not automated "
            "(run `imagebot automate Deployment/default/manual`",
        ),
        ("apps.yaml:67: ", "tag.app of Deployment/default/twice is set 2 times"),
        ("apps.yaml:87: ", "invalid image reference 'docker.io//flaskapp:develop-v1.8.0'"),
        ("web-b.yaml:1: ", "Deployment/shop/web is also defined at web-a.yaml:2"),
    ]
    assert len(lines) == len(expected), result.stdout
    for line, (where, what) in zip(lines, expected, strict=True):
        assert line.startswith(where) and what in line, line
    assert "7 finding(s)" in result.stderr


def test_lint_of_a_clean_tree_is_silent_and_exits_0() -> None:
    result = CliRunner().invoke(cli, ["lint", "--repo", str(ROOT / "fixtures/lint/clean")])

    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_the_pre_commit_hook_runs_imagebot_lint_on_the_whole_tree() -> None:
    hooks = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))

    (hook,) = hooks
    assert hook["id"] == "imagebot-lint"
    assert hook["entry"] == "imagebot lint"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False  # duplicates and Flux policies span files
    result = CliRunner().invoke(
        cli, [*hook["entry"].split()[1:], "--repo", str(ROOT / "fixtures/lint/clean")]
    )
    assert result.exit_code == 0


@pytest.mark.rig
def test_a_workload_whose_only_image_is_broken_can_still_be_automated(tmp_path: Path) -> None:
    broken = (
        b"kind: Deployment\nmetadata:\n  name: odd\n"
        b"spec: {template: {spec: {containers: [{name: a, image: docker.io//x:1}]}}}\n"
    )
    work = init_repo(tmp_path / "work", {"odd.yaml": broken})

    code, _, stderr = invoke(work, "automate", "deployment/odd")

    assert code == 0, stderr
    assert tree_bytes(work)["odd.yaml"] == broken.replace(
        b"  name: odd\n", b'  name: odd\n  annotations:\n    imagebot.io/automated: "true"\n'
    )


@pytest.mark.rig
def test_a_missing_workload_offers_the_workloads_of_that_kind(repo: Path) -> None:
    code, _, stderr = invoke(repo, "unlock", "deployment/api")

    assert code == 2
    assert "no workload Deployment/*/api found; candidates: " in stderr
    assert "Deployment/my-demo/fluxdemo (deployment.yaml:6)" in stderr
    assert "Deployment/prod/web (webs.yaml:1)" in stderr


@pytest.mark.rig
def test_the_repositorys_own_imagebot_yaml_names_the_author_as_for_run(tmp_path: Path) -> None:
    """Bug: the workflow commands opened the repository before reading its imagebot.yaml and
    kept committing as the default author, where ``imagebot run`` used the file's."""
    config = b"git:\n  author: {name: Repo Bot, email: bot@example.org}\n"
    work = init_repo(tmp_path / "work", {"deployment.yaml": SEED, "imagebot.yaml": config})

    code, _, stderr = invoke(work, "lock", "deployment/fluxdemo")

    assert code == 0, stderr
    author = run_git("-C", str(work), "log", "-1", "--format=%an <%ae>", env=git_env()).strip()
    assert author == "Repo Bot <bot@example.org>"


def test_lint_path_names_the_tree_as_list_does_or_a_directory_inside_the_repo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    findings = ROOT / "fixtures/lint/findings"
    monkeypatch.chdir(tmp_path)  # the tree to check is elsewhere: it becomes the root
    alone = CliRunner().invoke(cli, ["lint", "--path", str(findings)])
    inside = CliRunner().invoke(cli, ["lint", "--repo", str(ROOT), "--path", str(findings)])
    assert alone.exit_code == inside.exit_code == 4
    first = alone.output.splitlines()[0]
    assert inside.output.splitlines()[0] == f"fixtures/lint/findings/{first}"
    monkeypatch.chdir(findings.parent)
    relative = CliRunner().invoke(cli, ["lint", "--path", "findings"])
    assert relative.output.splitlines()[0] == f"findings/{first}"
    elsewhere = CliRunner().invoke(
        cli, ["lint", "--repo", str(ROOT / "fixtures/lint/clean"), "--path", str(findings)]
    )
    assert elsewhere.exit_code == 2 and "outside --repo" in elsewhere.output


def test_lint_advises_the_workload_as_list_names_it_and_the_command_takes_it() -> None:
    """Bug: ``list`` printed ``Deployment/default/manual`` while ``lint`` advised ``imagebot
    automate default:deployment/manual``: one workload, two spellings in output."""
    findings = str(ROOT / "fixtures/lint/findings")
    listed = CliRunner().invoke(cli, ["list", "--all", "--output", "json", "--path", findings])
    names = {row["workload"] for row in json.loads(listed.stdout)["targets"]}
    linted = CliRunner().invoke(cli, ["lint", "--repo", findings]).stdout
    advised = re.findall(r"`imagebot automate (\S+)`", linted)

    assert advised == ["Deployment/default/manual"]
    assert set(advised) <= names
    assert WorkloadId.parse(advised[0]) == WorkloadId("Deployment", "default", "manual")
