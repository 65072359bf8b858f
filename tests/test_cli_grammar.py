"""One grammar for every command, as docs/cli.md states it: ``--repo`` names the repository,
``--path`` filters subfolders and leaves ``file`` fields relative to ``--repo``, ``-w`` names a
workload, a local command refuses a URL; the exit-code table and shell completion as documented.

Bugs: ``imagebot list --repo`` answered "Did you mean '--help'?" in an older build; ``list
--repo https://host/r.git`` said ``'https:/host/r.git' is not a local directory``; the workload
commands took no ``-w``, and ``imagebot policy -w ...`` was "No such option".
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagebot.cli import cli, main
from imagebot.cli.common import EXIT_CODES_HELP, EXIT_NO_MATCH, EXIT_OK, EXIT_USAGE
from tests.run_support import workload
from tests.workflow_cases import init_repo

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
WEB = workload("web", "example.org/web:1.0.0", "semver:~1").encode()
PLAIN = b"kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: redis:7}]}\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``apps/web.yaml``: an automated workload; ``docs/pod.yaml``: an image nobody automates."""
    root = tmp_path / "tree"
    for relative, content in {"apps/web.yaml": WEB, "docs/pod.yaml": PLAIN}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content)
    return root


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin, prog_name="imagebot")
    return result.exit_code, result.stdout, result.stderr


# ---- --repo and --path ---------------------------------------------------------------------------

LOCAL_COMMANDS = [
    pytest.param(["list"], id="list"),
    pytest.param(["lint"], id="lint"),
    pytest.param(["set-image", "example.org/web:1.0.1", "--dry-run"], id="set-image"),
]


@pytest.mark.parametrize("args", LOCAL_COMMANDS)
def test_a_local_command_reads_the_repository_named_by_repo(args: list[str], tree: Path) -> None:
    code, stdout, stderr = invoke(*args, "--repo", str(tree))
    assert code == EXIT_OK, stderr
    assert "Did you mean" not in stderr
    assert "apps/web.yaml" in stdout or args == ["lint"]  # a clean lint prints nothing


@pytest.mark.parametrize("args", LOCAL_COMMANDS)
@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/me/gitops.git",
        "ssh://git@example.org/me/gitops.git",
        "git@example.org:me/gitops.git",
        "file:///srv/gitops.git",
    ],
)
def test_a_local_command_refuses_a_url_saying_to_clone_it(
    args: list[str], url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative ``git@...`` must not name a directory here
    code, stdout, stderr = invoke(*args, "--repo", url)
    assert code == EXIT_USAGE
    assert stdout == ""
    command = args[0]
    assert f"--repo {url!r} is a Git URL, but imagebot {command} reads a local directory" in (
        stderr
    )
    assert "clone the repository" in stderr


@pytest.mark.parametrize(
    ("args", "files"),
    [
        pytest.param(["list", "--all"], {"apps/web.yaml", "docs/pod.yaml"}, id="list"),
        pytest.param(["set-image", "redis:8", "--dry-run"], {"docs/pod.yaml"}, id="set-image"),
    ],
)
@pytest.mark.parametrize("path", ["apps", "docs"])
def test_path_filters_and_file_stays_relative_to_repo(
    args: list[str], files: set[str], path: str, tree: Path
) -> None:
    code, stdout, _ = invoke(*args, "--repo", str(tree), "--path", path, "--output", "json")
    answer = json.loads(stdout)
    rows = answer.get("targets", answer.get("changes"))
    found = {row["file"] for row in rows}
    assert found == {f for f in files if f.startswith(f"{path}/")}
    assert code == (EXIT_OK if found else EXIT_NO_MATCH)


def test_lint_findings_carry_files_relative_to_repo_under_a_path(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "apps").mkdir(parents=True)
    (root / "apps/web.yaml").write_bytes(WEB.replace(b"semver:~1", b"semver:~~1"))
    code, stdout, _ = invoke("lint", "--repo", str(root), "--path", "apps", "--output", "json")
    assert code == 4
    findings = json.loads(stdout)["findings"]
    assert findings and {f["file"] for f in findings} == {"apps/web.yaml"}
    assert findings[0]["code"] == "invalid-policy"


# ---- -w/--workload ------------------------------------------------------------------------------

WORKLOAD_COMMANDS = [
    pytest.param(["automate"], [], id="automate"),
    pytest.param(["deautomate"], [], id="deautomate"),
    pytest.param(["lock"], [], id="lock"),
    pytest.param(["unlock"], [], id="unlock"),
    pytest.param(["policy", "set"], ["--tag", "app=semver:~2"], id="policy-set"),
    # ``imagebot policy WORKLOAD ...`` and ``imagebot policy -w ...`` mean ``policy set``.
    pytest.param(["policy"], ["--tag", "app=semver:~2"], id="policy"),
]


@pytest.mark.parametrize(("command", "args"), WORKLOAD_COMMANDS)
def test_two_different_workloads_are_a_usage_error(
    command: list[str], args: list[str], tmp_path: Path
) -> None:
    code, _, stderr = invoke(
        *command, "-w", "deployment/a", "deployment/b", *args, "--repo", str(tmp_path)
    )
    assert code == EXIT_USAGE
    assert "WORKLOAD 'deployment/b' and --workload 'deployment/a' differ" in stderr


@pytest.mark.parametrize(("command", "args"), WORKLOAD_COMMANDS)
def test_no_workload_is_a_usage_error_that_shows_how(
    command: list[str], args: list[str], tmp_path: Path
) -> None:
    code, _, stderr = invoke(*command, *args, "--repo", str(tmp_path))
    assert code == EXIT_USAGE
    assert "name the workload: -w WORKLOAD (kind/name, namespace:kind/name" in stderr


@pytest.mark.rig  # git init and commit
@pytest.mark.parametrize(
    ("command", "args"),
    [
        pytest.param(["automate"], [], id="automate"),
        pytest.param(["lock"], ["-m", "audit"], id="lock"),
        pytest.param(["policy"], ["--tag", "app=semver:~2"], id="policy"),
        pytest.param(["policy", "set"], ["--tag", "app=semver:~2"], id="policy-set"),
    ],
)
def test_w_names_the_workload_as_the_argument_does(
    command: list[str], args: list[str], tmp_path: Path
) -> None:
    repo = init_repo(tmp_path / "work", {"apps/web.yaml": WEB.replace(b"'true'", b"'false'")})
    flags = [*args, "--repo", str(repo), "--path", "apps", "--dry-run", "--output", "json"]

    by_argument = invoke(*command, "deployment/web", *flags)
    by_option = invoke(*command, "-w", "deployment/web", *flags)
    both = invoke(*command, "deployment/web", "--workload", "deployment/web", *flags)

    assert by_argument[0] == EXIT_OK, by_argument[2]
    assert json.loads(by_argument[1])["files"] == ["apps/web.yaml"]  # relative to --repo
    assert by_option == by_argument == both


# ---- exit codes and completion ------------------------------------------------------------------


def test_the_exit_code_table_in_docs_is_the_one_help_prints() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Exit codes") :]
    block = re.search(r"```text\n(.*?)```", section, re.DOTALL)
    assert block is not None, "docs/cli.md: no ```text block under ## Exit codes"
    table = EXIT_CODES_HELP.removeprefix("\b\n")
    assert block.group(1).rstrip("\n") == table
    code, stdout, _ = invoke("--help")
    assert code == 0
    shown = [line.strip() for line in stdout.splitlines()]
    lines = [line.strip() for line in table.splitlines()]
    start = shown.index(lines[0])
    assert shown[start : start + len(lines)] == lines


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        # click asks ``bash --version`` first: a process, so the full lane.
        pytest.param(
            "bash", "complete -o nosort -F _imagebot_completion imagebot", marks=pytest.mark.rig
        ),
        ("zsh", "compdef _imagebot_completion imagebot"),
        ("fish", "complete --no-files --command imagebot"),
    ],
)
def test_the_documented_completion_variable_prints_a_script(
    shell: str, marker: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert f"_IMAGEBOT_COMPLETE={shell}_source imagebot" in DOC.read_text(encoding="utf-8")
    monkeypatch.setenv("_IMAGEBOT_COMPLETE", f"{shell}_source")
    with pytest.raises(SystemExit) as done:
        main([])
    assert done.value.code == 0
    assert marker in capsys.readouterr().out


def test_completion_offers_subcommands_and_flags(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("_IMAGEBOT_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", "imagebot lock --wo")
    monkeypatch.setenv("COMP_CWORD", "2")
    with pytest.raises(SystemExit):
        main([])
    assert "plain,--workload" in capsys.readouterr().out.splitlines()


@pytest.mark.rig  # bash and the console script
@pytest.mark.parametrize(
    ("words", "offered"),
    [
        pytest.param("imagebot se", "set-image", id="command"),
        pytest.param("imagebot lock --wo", "--workload", id="flag"),
        pytest.param("imagebot list --output ", "json", id="choice"),
    ],
)
def test_bash_completes_with_the_documented_line(words: str, offered: str) -> None:
    """The line docs/cli.md gives, run by bash with the installed ``imagebot`` console script."""
    script = Path(sys.executable).with_name("imagebot")
    assert script.is_file(), f"no console script beside {sys.executable}"
    index = len(words.split()) - (0 if words.endswith(" ") else 1)
    line = (
        'eval "$(_IMAGEBOT_COMPLETE=bash_source imagebot)"\n'
        f"COMP_WORDS=({words}''); COMP_CWORD={index}; COMPREPLY=()\n"
        '_imagebot_completion imagebot; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {
        **os.environ,
        "PATH": f"{script.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(DOC.parent.parent),
    }
    done = subprocess.run(
        ["bash", "--norc", "-c", line],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert offered in done.stdout.split()
