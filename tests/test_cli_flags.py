"""The flag table in docs/cli.md is the CLI's grammar: every flag of every command is in it, and a
flag means one thing (one help text, one type) wherever a row says so.

Walks the click tree from ``imagebot.cli.cli`` (lazy subcommands resolved, ``policy``'s included)
and reads the table's rows: ``| `-w`, `--workload` | meaning | `automate`, `lock` |``. A row's
meaning is the flag's help text, word for word; a flag whose meaning truly differs by command
(``-m/--message`` of ``lock``) has one row per meaning, and each command sits in one of them.

Bugs: ``--output json`` existed on four commands only; ``--config`` was TEXT in ``run`` and FILE
in ``tags``; ``--repo``, ``--branch``, ``--dry-run`` and ``--allow-downgrade`` said different
things in different commands; ``automate``/``lock``/``policy`` took no ``-w/--workload``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import click
import pytest

from imagebot.cli import cli

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
EVERY = "every command"

# What each grammar rule covers, by the command's path (``policy set``).
READS_A_REPOSITORY = {
    "list", "set-image", "lint", "run", "release",
    "automate", "deautomate", "lock", "unlock", "policy set",
    "list-workloads", "list-images",
}  # fmt: skip
LOCAL_ONLY = {"list", "set-image", "lint", "list-workloads", "list-images"}
NAMES_ONE_WORKLOAD = {"automate", "deautomate", "lock", "unlock", "policy set"}
# Every leaf prints data but the operator, which logs (``--log-format``), and ``install``, whose
# output is Kubernetes objects for ``kubectl apply -f -`` (a format of its own).
PRINTS_NO_DATA = {"controller", "install"}


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the flag table: the spellings, their meaning and the commands that take it."""

    flags: frozenset[str]
    meaning: str
    commands: frozenset[str]
    line: int


@cache
def tree() -> dict[str, tuple[click.Command, click.Context]]:
    """Every command by its path (``imagebot`` for the root), with a context to read it in."""
    found: dict[str, tuple[click.Command, click.Context]] = {}

    def walk(command: click.Command, ctx: click.Context, path: str) -> None:
        found[path] = (command, ctx)
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"{path} {name} does not load"
                child = click.Context(sub, parent=ctx, info_name=name, **sub.context_settings)
                walk(sub, child, name if path == "imagebot" else f"{path} {name}")

    walk(cli, click.Context(cli, info_name="imagebot", **cli.context_settings), "imagebot")
    return found


def options(path: str) -> list[click.Option]:
    command, ctx = tree()[path]
    return [p for p in command.get_params(ctx) if isinstance(p, click.Option)]


def leaves() -> list[str]:
    return sorted(p for p, (c, _) in tree().items() if not isinstance(c, click.Group))


def spellings(option: click.Option) -> frozenset[str]:
    return frozenset([*option.opts, *option.secondary_opts])


def _cells(line: str) -> list[str]:
    inner = line.strip().removeprefix("|").removesuffix("|")
    return [cell.strip().replace(r"\|", "|") for cell in re.split(r"(?<!\\)\|", inner)]


@cache
def table() -> tuple[Row, ...]:
    """The rows under ``## Flags`` in docs/cli.md."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Flags")
    rows = []
    for number, line in enumerate(lines[start + 1 :], start + 2):
        if line.startswith("## "):
            break
        if not line.startswith("|") or line.startswith("| flag") or set(line) <= set("|- "):
            continue
        flags, meaning, commands = _cells(line)
        named = frozenset(re.findall(r"`([^`]+)`", commands))
        rows.append(
            Row(
                frozenset(re.findall(r"`([^`]+)`", flags)),
                meaning,
                frozenset(tree()) if commands == EVERY else named,
                number,
            )
        )
    assert rows, "docs/cli.md has no flag table under '## Flags'"
    return tuple(rows)


def rows_for(path: str, option: click.Option) -> list[Row]:
    return [r for r in table() if path in r.commands and r.flags & spellings(option)]


@pytest.mark.parametrize("path", sorted(tree()))
def test_every_flag_of_the_command_is_in_the_table_once(path: str) -> None:
    for option in options(path):
        rows = rows_for(path, option)
        names = "/".join(sorted(spellings(option)))
        assert rows, f"{names} of {path!r} is missing from the flag table in docs/cli.md"
        assert len(rows) == 1, f"{names} of {path!r} is in rows {[r.line for r in rows]}"
        assert rows[0].flags == spellings(option), (
            f"docs/cli.md:{rows[0].line} spells {names} of {path!r} as {sorted(rows[0].flags)}"
        )


def test_every_row_names_commands_that_take_its_flag_with_its_meaning() -> None:
    for row in table():
        where = f"docs/cli.md:{row.line} ({'/'.join(sorted(row.flags))})"
        assert row.commands, f"{where} names no command"
        kinds = set()
        for path in sorted(row.commands):
            assert path in tree(), f"{where}: there is no command {path!r}"
            taken = [o for o in options(path) if spellings(o) == row.flags]
            if row.commands == frozenset(tree()) and not taken:
                continue  # not every command needs an "every command" flag (-V)
            assert taken, f"{where}: {path!r} has no such flag"
            option = taken[0]
            help_text = " ".join((option.help or "").split())
            assert help_text == row.meaning, (
                f"{where}: {path!r} says {help_text!r}; the table says {row.meaning!r}"
            )
            kinds.add((option.type.name, option.is_flag, option.multiple, option.count))
        assert len(kinds) <= 1, f"{where}: one flag, several types: {sorted(kinds)}"


def test_a_flag_with_one_spelling_has_one_type_across_commands() -> None:
    kinds: dict[str, set[tuple[str, bool]]] = {}
    for path in tree():
        for option in options(path):
            for name in spellings(option):
                kinds.setdefault(name, set()).add((option.type.name, option.is_flag))
    mixed = {name: kind for name, kind in kinds.items() if len(kind) > 1}
    assert not mixed, f"one flag, several types: {mixed}"


@pytest.mark.parametrize("path", sorted(READS_A_REPOSITORY))
def test_every_command_that_reads_a_repository_takes_repo_and_path(path: str) -> None:
    names = {name for option in options(path) for name in spellings(option)}
    assert {"--repo", "--path"} <= names
    repo = next(o for o in options(path) if "--repo" in o.opts)
    local = path in LOCAL_ONLY
    assert (repo.help or "").startswith(
        "The repository: a local directory." if local else "The repository: a local directory or"
    )
    assert repo.default == "."


@pytest.mark.parametrize("path", [p for p in leaves() if p not in PRINTS_NO_DATA])
def test_every_command_that_prints_data_takes_output_json(path: str) -> None:
    output = next((o for o in options(path) if "--output" in o.opts), None)
    assert output is not None, f"{path!r} has no --output"
    assert isinstance(output.type, click.Choice)
    assert list(output.type.choices) == ["text", "json"]
    assert output.default == "text"


@pytest.mark.parametrize("path", sorted(NAMES_ONE_WORKLOAD | {"release"}))
def test_every_command_that_names_a_workload_takes_w_and_n(path: str) -> None:
    names = {name for option in options(path) for name in spellings(option)}
    assert {"-w", "--workload", "-n", "--namespace"} <= names


@pytest.mark.parametrize("path", sorted(tree()))
def test_every_command_takes_h_for_help_however_it_is_reached(path: str) -> None:
    # A command run on its own (a test's CliRunner, a script calling it) has no parent context
    # to inherit -h from; and click keeps the first help option it made for a command, so the
    # help flag must not depend on which way the command was reached first.
    command, _ = tree()[path]
    alone = click.Context(command, info_name=path, **command.context_settings)

    assert alone.help_option_names == ["-h", "--help"]
