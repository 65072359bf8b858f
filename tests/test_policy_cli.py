"""``imagebot policy``: the select contract scripts rely on, and routing of workload names."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner, Result

from imagebot.cli.lazy import LazyGroup
from imagebot.cli.policy_cmd import policy, select


def run(*args: str, stdin: str | bytes = "") -> Result:
    return CliRunner().invoke(policy, ["select", *args], input=stdin)


def test_prints_the_chosen_tag_and_exits_0() -> None:
    result = run("semver:^1", stdin="1.0.0\n\n  1.2.0  \n2.0.0\n")
    assert (result.exit_code, result.stdout) == (0, "1.2.0\n")


def test_exits_1_with_the_reason_on_stderr_when_nothing_qualifies() -> None:
    result = run("semver:^3", stdin="1.0.0\n")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "outside the range '^3'" in result.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        pytest.param(["semver:1.0.0p"], "1.0.0\n", "cannot read 'p'", id="bad-range"),
        pytest.param(["major"], "1.0.0\n", "pass --current TAG", id="bump-without-current"),
        pytest.param(["glob:*"], "a 2024-05-01\n", "stdin line 1: '2024-05-01'", id="date-only"),
        pytest.param(["glob:*"], "a\nb 2024-05-01T10:00:00\n", "stdin line 2", id="no-offset"),
        pytest.param(["glob:*"], "a 2024-02-30T10:00:00Z\n", "day is out of range", id="no-day"),
        pytest.param(["glob:*"], "a b 2024-05-01\n", "stdin line 1: '2024-05-01'", id="spaced-tag"),
        pytest.param(["alphabetical:asc", "--filter", "("], "a\n", "invalid filter", id="filter"),
        pytest.param(
            ["alphabetical:asc", "--extract", "$1"],
            "a\n",
            "needs a filter",
            id="extract-without-filter",
        ),
    ],
)
def test_exits_2_naming_the_problem(args: list[str], stdin: str, message: str) -> None:
    result = run(*args, stdin=stdin)
    assert result.exit_code == 2
    assert message in result.stderr


def test_stdin_that_is_not_utf8_is_exit_2() -> None:
    result = run("alphabetical:asc", stdin=b"a\n\xff\n")
    assert result.exit_code == 2
    assert "not UTF-8" in result.stderr


@pytest.mark.parametrize(
    "created",
    [
        pytest.param("2024-05-01T10:00:00Z", id="zulu"),
        pytest.param("2024-05-01t10:00:00z", id="lower-case"),
        pytest.param("2024-05-01T12:00:00+02:00", id="offset"),
        pytest.param("2024-05-01T10:00:00.000000000Z", id="nanoseconds"),
    ],
)
def test_creation_times_are_rfc3339(created: str) -> None:
    stdin = f"old 2024-05-01T09:59:59.999Z\nnew\t{created}\n"
    assert run("glob:*", stdin=stdin).stdout == "new\n"


def test_current_filter_extract_and_allow_downgrade_are_passed_through() -> None:
    stdin = "main-b-400\nmain-c-450\n"
    args = ["numerical:asc", "--filter", r"^main-\w+-(?P<ts>\d+)$", "--extract", "$ts"]
    assert run(*args, "--current", "main-x-500", stdin=stdin).exit_code == 1
    allowed = run(*args, "--current", "main-x-500", "--allow-downgrade", stdin=stdin)
    assert (allowed.exit_code, allowed.stdout) == (0, "main-c-450\n")


def test_explain_lists_every_verdict_on_stderr() -> None:
    result = run("semver:*", "--explain", stdin="1.0.0\nlatest\n2.0.0\n")
    assert result.stdout == "2.0.0\n"
    assert result.stderr.splitlines() == [
        "2.0.0 ranks first of 2 qualifying tag(s): version 2.0.0",
        "  * 2.0.0   version 2.0.0",
        "    1.0.0   version 1.0.0",
        "  - latest  excluded: not a version",
    ]


def test_json_output_carries_the_decision_and_verdicts() -> None:
    result = run(
        "glob:*", "--output", "json", "--explain", stdin="a 2024-05-01T10:00:00+02:00\nb\n"
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "schemaVersion": 1,
        "policy": "glob:*",
        "chosen": "a",
        "created": "2024-05-01T08:00:00Z",
        "reason": "a ranks first of 1 qualifying tag(s): created 2024-05-01T08:00:00Z",
        "verdicts": [
            {"tag": "a", "chosen": True, "excluded": None, "rank": "created 2024-05-01T08:00:00Z"},
            {"tag": "b", "chosen": False, "excluded": "has no known creation time", "rank": None},
        ],
    }


def test_json_output_without_a_choice_exits_1() -> None:
    result = run("semver:*", "--output", "json", stdin="")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["chosen"] is None


@click.command("set")
@click.argument("workload")
@click.option("--tag", multiple=True)
def echo_set(workload: str, tag: tuple[str, ...]) -> None:
    """Stands in for the workflow engineer's command: prints what it was given."""
    click.echo(f"set {workload} {' '.join(tag)}")


@pytest.mark.parametrize(
    ("args", "output"),
    [
        pytest.param(["web", "--tag", "app=semver:^1"], "set web app=semver:^1\n", id="workload"),
        pytest.param(["set", "web", "--tag", "a=b"], "set web a=b\n", id="explicit-set"),
    ],
)
def test_an_unknown_first_argument_goes_to_the_set_command(args: list[str], output: str) -> None:
    group = LazyGroup(
        "policy", commands={"select": select, "set": echo_set}, lazy={}, fallback="set"
    )
    result = CliRunner().invoke(group, args)
    assert (result.exit_code, result.stdout) == (0, output)


def test_select_is_never_taken_for_a_workload() -> None:
    group = LazyGroup(
        "policy", commands={"select": select, "set": echo_set}, lazy={}, fallback="set"
    )
    result = CliRunner().invoke(group, ["select", "semver:*"], input="1.0.0\n")
    assert (result.exit_code, result.stdout) == (0, "1.0.0\n")


def test_without_a_set_command_an_unknown_argument_is_a_usage_error() -> None:
    group = LazyGroup("policy", commands={"select": select}, lazy={}, fallback="set")
    result = CliRunner().invoke(group, ["web"])
    assert result.exit_code == 2
    assert "No such command 'web'" in result.stderr


def test_a_lazy_set_whose_module_is_missing_is_not_offered() -> None:
    lazy = {"set": ("imagebot.cli.no_such_module:policy_set", "Set policies.")}
    group = LazyGroup("policy", commands={"select": select}, lazy=lazy, fallback="set")
    help_text = CliRunner().invoke(group, ["--help"]).stdout
    assert "select" in help_text and "set" not in help_text.split("Commands:")[1]


@pytest.mark.rig
def test_select_imports_nothing_heavy() -> None:
    # Its start-up time is measured by bench/startup.py.
    code = (
        "import sys\n"
        "from imagebot.cli import main\n"
        "try:\n    main(['policy', 'select', 'semver:*'])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', [m for m in ('kopf', 'kubernetes', 'git', 'requests', 'ruamel.yaml')"
        " if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input="1.0.0\n", capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == ["1.0.0", "HEAVY []"]
