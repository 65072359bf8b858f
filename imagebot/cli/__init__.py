"""The ``imagebot`` command line: a thin shell that parses arguments and renders results.

Subcommands live in their own modules and are imported only when invoked, so ``imagebot --help``
and ``imagebot policy select`` start without loading kopf, kubernetes, requests or GitPython.
Exit codes are decided here (see ``imagebot.cli.common``), never in the core.
"""

from __future__ import annotations

import importlib
import sys

import click

from imagebot import __version__

# name -> "module:attribute"; the module is imported only when the command runs (or is listed
# in --help, where only its short help is needed, which click reads from the command object).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "policy": (
        "imagebot.cli.policy_cmd:policy",
        "Select tags with a policy; edit workload policies.",
    ),
    "tags": ("imagebot.cli.tags_cmd:tags", "List an image's tags with creation times and digests."),
    "list": ("imagebot.cli.manifest_cmd:list_targets", "List every automated image in a tree."),
    "set-image": (
        "imagebot.cli.manifest_cmd:set_image",
        "Write IMAGE:TAG into every target of IMAGE.",
    ),
    "run": ("imagebot.cli.run_cmd:run", "Update images in Git from the registries, commit, push."),
    "controller": ("imagebot.cli.controller_cmd:controller", "Run the Kubernetes operator."),
    "automate": ("imagebot.cli.workflow_cmd:automate", "Turn on automation for a workload."),
    "deautomate": ("imagebot.cli.workflow_cmd:deautomate", "Turn off automation for a workload."),
    "lock": ("imagebot.cli.workflow_cmd:lock", "Lock a workload's images where they are."),
    "unlock": ("imagebot.cli.workflow_cmd:unlock", "Unlock a workload."),
    "release": (
        "imagebot.cli.workflow_cmd:release",
        "Release IMAGE:TAG to workloads, commit, push.",
    ),
    "lint": ("imagebot.cli.workflow_cmd:lint", "Check automation annotations and policies."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | self._available())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in self._available():
            return command
        target, _ = LAZY_COMMANDS[cmd_name]
        module_name, attribute = target.split(":")
        loaded = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(loaded, click.Command):  # pragma: no cover - programming error
            raise TypeError(f"{target} is not a click command")
        return loaded

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing help must not import every command module: use the registry's short help.
        rows = [(name, LAZY_COMMANDS[name][1]) for name in sorted(self._available())]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    @staticmethod
    def _available() -> set[str]:
        """Commands whose module exists in this installation."""
        from importlib.util import find_spec

        found = set()
        for name, (target, _) in LAZY_COMMANDS.items():
            if find_spec(target.split(":")[0]) is not None:
                found.add(name)
        return found


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="imagebot")
def cli() -> None:
    """imagebot: when a registry gets a new image tag, put it into Git.

    imagebot finds automated workloads in a Git repository's YAML (Flux v1 annotations, its own
    imagebot.io/ annotations, Kustomize images, HelmRelease values and Flux v2 setter markers),
    asks the registries for tags, picks one by policy, rewrites exactly that value, commits and
    pushes. It never applies anything to a cluster.
    """
    from imagebot.redact import install_log_redaction

    install_log_redaction()  # before any subcommand logs: no log line may carry a secret


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="imagebot")
