"""The options more than one command takes, each defined once: one spelling, one type, one help.

docs/cli.md's flag table lists every flag with its help text, and tests/test_cli_flags.py holds
the commands to it, so a flag cannot drift into two meanings. Defining the shared ones here is
what keeps that cheap. Only option declarations and the reading of ``-w``/``WORKLOAD`` live here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from imagebot.cli.common import fail

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def stacked(*decorators: Decorator) -> Decorator:
    """Several options as one decorator, listed in ``--help`` in the order given."""

    def apply(func: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


# ---- the repository ------------------------------------------------------------------------------

# One wording, two reaches: a command that commits can clone a URL, one that only reads cannot.
REPO = click.option(
    "--repo",
    default=".",
    show_default=True,
    help="The repository: a local directory or a Git URL (cloned into a cache).",
)
LOCAL_REPO = click.option(
    "--repo",
    default=".",
    show_default=True,
    help="The repository: a local directory.",
)
PATHS = click.option(
    "--path",
    "paths",
    multiple=True,
    help="Only look in this subfolder of --repo (repeatable).",
)
CONFIG = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file in imagebot.yaml's format; where a command opens a repository, "
    "it replaces the repository's own imagebot.yaml.",
)

# ---- what a command does with it ----------------------------------------------------------------

DRY_RUN = click.option(
    "--dry-run", is_flag=True, help="Print what would change and the diff; write nothing."
)
OUTPUT = click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Print text for people or json for programs (shapes: docs/cli.md).",
)
KUBECONFIG = click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False),
    default=None,
    help="Log in with this kubeconfig (default: in-cluster service account, else $KUBECONFIG "
    "or ~/.kube/config).",
)
CONTEXT = click.option(
    "--context", default=None, help="Use this kubeconfig context (implies kubeconfig)."
)
ALLOW_DOWNGRADE = click.option(
    "--allow-downgrade",
    is_flag=True,
    help="Let a policy choose a tag that ranks below the current one.",
)

# ---- Git: where to commit, as whom ---------------------------------------------------------------

BRANCH = click.option("--branch", help="Branch to change (default: the remote's default branch).")
NO_PUSH = click.option("--no-push", is_flag=True, help="Commit but do not push.")
PUSH_BRANCH = click.option(
    "--push-branch", help="Push to this branch (recreated from the base) for review."
)
AUTHOR_NAME = click.option("--author-name", help="Commit author and committer name.")
AUTHOR_EMAIL = click.option("--author-email", help="Commit author and committer email.")
USER = click.option("--user", help="Who asks for this; recorded in the commit message.")
MESSAGE = click.option("-m", "--message", help="Commit subject (replaces the default one).")

# ---- workloads ----------------------------------------------------------------------------------

WORKLOAD_FORMS = "kind/name, namespace:kind/name or Kind/namespace/name"
NAMESPACE = click.option(
    "-n", "--namespace", help="Namespace of a workload that does not name its own."
)
# ``WORKLOAD`` as an argument is how fluxctl users type it; ``-w`` is how ``release`` does.
WORKLOAD = stacked(
    click.argument("workload_argument", metavar="[WORKLOAD]", required=False),
    click.option(
        "-w",
        "--workload",
        "workload_option",
        metavar="WORKLOAD",
        help=f"The workload: {WORKLOAD_FORMS} (or give it as the argument).",
    ),
    NAMESPACE,
)


def workload_of(options: dict[str, Any]) -> str:
    """The one workload named by ``WORKLOAD`` or ``-w``; a usage error (exit 2) when neither
    or two different ones are given."""
    argument, option = options.pop("workload_argument"), options.pop("workload_option")
    if argument and option and argument != option:
        fail(f"WORKLOAD {argument!r} and --workload {option!r} differ: name the workload once")
    workload = argument or option
    if not workload:
        fail(f"name the workload: -w WORKLOAD ({WORKLOAD_FORMS})")
    return str(workload)
