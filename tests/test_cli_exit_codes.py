"""Each exit code means one thing: 0 done, 1 run again later, 2 fix it first, 3 ``--strict``
problems, 4 lint findings, 5 nothing matched; ``policy select`` keeps 0 chosen / 1 none / 2
invalid.

Bugs: exit 1 meant "transient", "nothing matched" and "lint findings" at once; a ``--path`` that
did not exist or held no automated image exited 0 without a word.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagebot.cli import cli
from imagebot.cli.common import (
    EXIT_FINDINGS,
    EXIT_NO_MATCH,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_TRANSIENT,
    EXIT_USAGE,
)
from tests.run_support import imagebot, workload

ROOT = Path(__file__).resolve().parent.parent
AUTOMATED = workload("web", "example.org/web:1.0.0", "semver:~1").encode()
PLAIN = b"""\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: c
    image: redis:7
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``apps/`` holds an automated workload, ``docs/`` an image nobody automates, ``empty/``
    nothing."""
    root = tmp_path / "tree"
    for relative, content in {"apps/web.yaml": AUTOMATED, "docs/pod.yaml": PLAIN}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content)
    (root / "empty").mkdir()
    return root


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stderr


def test_the_codes_are_distinct_and_as_decided() -> None:
    codes = (EXIT_OK, EXIT_TRANSIENT, EXIT_USAGE, EXIT_PROBLEMS, EXIT_FINDINGS, EXIT_NO_MATCH)
    assert codes == (0, 1, 2, 3, 4, 5)


def test_help_shows_the_table_of_exit_codes() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for line in ("0  done", "1  a transient", "2  usage", "3  --strict", "4  lint", "5  nothing"):
        assert line in result.stdout
    assert "policy select: 0 chosen, 1 none qualifies, 2 invalid" in result.stdout


@pytest.mark.parametrize("command", ["list", "lint"])
def test_a_path_that_does_not_exist_exits_2_with_the_reason(command: str, tree: Path) -> None:
    code, stderr = invoke(command, "--repo", str(tree), "--path", "nope")
    assert code == EXIT_USAGE
    assert "--path 'nope': no such file or directory" in stderr


def test_set_image_with_a_path_that_does_not_exist_exits_2(tree: Path) -> None:
    code, stderr = invoke("set-image", "example.org/web:2", "--repo", str(tree), "--path", "no")
    assert (code, "--path 'no': no such file" in stderr) == (EXIT_USAGE, True)
    assert (tree / "apps/web.yaml").read_bytes() == AUTOMATED


@pytest.mark.parametrize("path", ["docs", "empty", "docs/pod.yaml"])
def test_list_of_a_path_without_automated_images_exits_5_with_a_message(
    tree: Path, path: str
) -> None:
    code, stderr = invoke("list", "--repo", str(tree), "--path", path)
    assert code == EXIT_NO_MATCH
    assert "no automated image there" in stderr


def test_list_all_of_a_path_with_plain_images_lists_them_and_exits_0(tree: Path) -> None:
    assert invoke("list", "--all", "--repo", str(tree), "--path", "docs")[0] == EXIT_OK


@pytest.mark.parametrize("output", ["text", "json"])
def test_list_of_a_path_with_automated_images_exits_0(tree: Path, output: str) -> None:
    assert invoke("list", "--repo", str(tree), "--path", "apps", "--output", output)[0] == EXIT_OK


def test_list_of_the_whole_tree_without_path_exits_0_even_when_empty(tree: Path) -> None:
    assert invoke("list", "--repo", str(tree / "empty"))[0] == EXIT_OK


def test_lint_findings_exit_4_and_a_clean_tree_exits_0() -> None:
    assert invoke("lint", "--repo", str(ROOT / "fixtures/lint/findings"))[0] == EXIT_FINDINGS
    assert invoke("lint", "--repo", str(ROOT / "fixtures/lint/clean"))[0] == EXIT_OK


def test_lint_of_a_clean_path_without_automated_images_exits_5(tree: Path) -> None:
    assert invoke("lint", "--repo", str(tree), "--path", "apps")[0] == EXIT_OK
    code, stderr = invoke("lint", "--repo", str(tree), "--path", "empty")
    assert (code, "no automated image there" in stderr) == (EXIT_NO_MATCH, True)


def test_set_image_that_matches_nothing_exits_5(tree: Path) -> None:
    code, stderr = invoke("set-image", "example.org/other:2", "--repo", str(tree))
    assert code == EXIT_NO_MATCH and "no image of example.org/other" in stderr


@pytest.mark.parametrize(
    ("stdin", "args", "code"),
    [
        pytest.param("1.0.0\n1.2.0\n", ["semver:~1"], 0, id="chosen"),
        pytest.param("2.0.0\n", ["semver:~1"], 1, id="none"),
        pytest.param("1.0.0\n", ["semver:~~"], 2, id="invalid"),
    ],
)
def test_policy_select_keeps_its_own_contract(stdin: str, args: list[str], code: int) -> None:
    assert CliRunner().invoke(cli, ["policy", "select", *args], input=stdin).exit_code == code


def test_a_config_file_that_is_a_device_exits_2_at_once() -> None:
    code, stderr = invoke("run", "--repo", ".", "--config", "/dev/zero", "--dry-run")
    assert (code, "/dev/zero: not a regular file" in stderr) == (EXIT_USAGE, True)


# ---- commands that open a repository (git children: the rig lane) ----------------------------


@pytest.fixture
def remote(bare_remote: Callable[..., Path]) -> str:
    return bare_remote({"apps/web.yaml": AUTOMATED, "docs/pod.yaml": PLAIN}).as_uri()


@pytest.mark.rig
def test_run_in_a_folder_that_is_not_a_git_repository_exits_2(tmp_path: Path) -> None:
    proc = imagebot("run", "--repo", str(tmp_path), "--dry-run", tmp_path=tmp_path, check=False)
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert "not inside a Git repository" in proc.stderr


@pytest.mark.rig
def test_run_with_a_path_the_clone_does_not_have_exits_2_after_the_clone(
    remote: str, tmp_path: Path
) -> None:
    args = ("run", "--repo", remote, "--path", "nope", "--dry-run")
    proc = imagebot(*args, tmp_path=tmp_path, check=False)
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert "--path 'nope': no such file or directory in the repository" in proc.stderr


@pytest.mark.rig
def test_run_with_a_path_holding_no_automated_image_exits_5(remote: str, tmp_path: Path) -> None:
    args = ("run", "--repo", remote, "--path", "docs", "--dry-run")
    proc = imagebot(*args, tmp_path=tmp_path, check=False)
    assert proc.returncode == EXIT_NO_MATCH, proc.stderr
    assert "--path 'docs': no automated image there" in proc.stderr


@pytest.mark.rig
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(
            ["lock", "deployment/web", "--path", "nope"],
            EXIT_USAGE,
            "--path 'nope': no such",
            id="lock-missing-path",
        ),
        pytest.param(
            ["release", "--image", "example.org/web:2", "--path", "nope"],
            EXIT_USAGE,
            "--path 'nope': no such",
            id="release-missing-path",
        ),
        pytest.param(
            ["release", "--image", "example.org/web:2", "--path", "docs"],
            EXIT_NO_MATCH,
            "",
            id="release-nothing-there",
        ),
        pytest.param(
            ["release", "--image", "example.org/web:2", "--path", "apps"],
            EXIT_OK,
            "",
            id="release-found",
        ),
    ],
)
def test_workflow_commands_check_the_path_after_the_clone(
    remote: str, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    proc = imagebot(*args, "--repo", remote, "--dry-run", tmp_path=tmp_path, check=False)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert message in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--interval-tick", "nan"], id="tick-nan"),
        pytest.param(["--interval-tick", "inf"], id="tick-inf"),
        pytest.param(["--interval-tick", "0"], id="tick-zero-busy-loop"),
        pytest.param(["--interval-tick", "-1"], id="tick-negative"),
        pytest.param(["--interval-tick", "9" * 400], id="tick-huge"),
        pytest.param(["--webhook-port", "70000"], id="port-above-65535"),
        pytest.param(["--webhook-port", "-1"], id="port-negative"),
        pytest.param(["--metrics-port", "0"], id="metrics-port-zero"),
        pytest.param(["--priority", "-1"], id="priority-negative"),
        pytest.param(["--priority", str(2**31)], id="priority-past-int32"),
        pytest.param(["--peering-lifetime", "1s"], id="lifetime-shorter-than-a-refresh"),
        pytest.param(["--peering-lifetime", "nan"], id="lifetime-nan"),
    ],
)
def test_controller_flags_out_of_range_are_usage_errors_before_anything_starts(
    args: list[str],
) -> None:
    result = CliRunner().invoke(cli, ["controller", *args])
    assert result.exit_code == EXIT_USAGE, result.output
    assert "Invalid value for '--" in result.output


def test_controller_tick_takes_seconds_or_a_duration() -> None:
    from imagebot.cli.common import seconds_between

    parse = seconds_between(0.1, 3600.0)
    assert [parse(None, None, t) for t in ("10", "500ms", "1m")] == [10.0, 0.5, 60.0]  # type: ignore[arg-type]


def test_replicas_started_alike_draw_different_peering_priorities() -> None:
    """kopf pauses every operator sharing the top priority; deploy/ha/ starts two alike."""
    from imagebot.cli.controller_cmd import MAX_PRIORITY, replica_priority

    drawn = {replica_priority() for _ in range(1000)}
    assert len(drawn) >= 999  # a tie has odds of ~1e-9 a pair
    assert all(1 <= p < MAX_PRIORITY for p in drawn)  # an explicit top priority outranks them
