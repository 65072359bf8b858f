"""``imagebot run``: one reconcile (or a poll loop) from the command line.

Builds settings from flags and ``imagebot.yaml``, calls the shared reconcile and renders its
result. Exit codes: 0 success (changes or not), 1 transient failure, 2 configuration or usage
error, 3 with ``--strict`` when problems were reported.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import click

from imagebot.cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_TRANSIENT, PATHS, exit_code_for
from imagebot.durations import parse_duration
from imagebot.errors import ConfigError
from imagebot.redact import redact

if TYPE_CHECKING:
    from imagebot.reconcile.registries import RegistryClients

_OWNER = "run"  # the one owner of the poll loop's registry clients


def parse_interval(_ctx: click.Context, _param: click.Parameter, text: str | None) -> float | None:
    """``--interval``: a duration as Flux writes it (``90s``, ``5m``, ``1h30m``) or seconds."""
    if text is None:
        return None
    try:
        seconds = parse_duration(text)
    except ConfigError as error:
        raise click.BadParameter(str(error)) from None
    if seconds <= 0:
        raise click.BadParameter(f"{text!r} is no time at all; give e.g. 30s or 5m")
    return seconds


@click.command()
@click.option("--repo", default=".", show_default=True, help="Local path or Git URL.")
@click.option("--branch", help="Branch to update (default: the remote's default branch).")
@PATHS
@click.option("--dry-run", is_flag=True, help="Print the plan and the diff; touch nothing.")
@click.option("--no-push", is_flag=True, help="Commit but do not push.")
@click.option("--push-branch", help="Push to this branch (recreated from the base) for review.")
@click.option("--config", "config_file", help="Settings file (default: imagebot.yaml in the repo).")
@click.option(
    "--interval",
    callback=parse_interval,
    help="Keep running, one cycle per interval (e.g. 90s, 5m, 1h30m).",
)
@click.option("--allow-downgrade", is_flag=True, help="Let policies choose an older tag.")
@click.option("--author-name", help="Commit author and committer name.")
@click.option("--author-email", help="Commit author and committer email.")
@click.option("--strict", is_flag=True, help="Exit 3 when problems were reported.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def run(**options: Any) -> None:
    """Update images in Git from the registries: one commit, pushed.

    Finds automated images under --repo, asks each registry once per repository, picks tags by
    policy, rewrites only the image values, commits and pushes. With --interval it keeps polling.
    """
    raise SystemExit(poll(options))


def poll(
    options: Mapping[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """One cycle, or with ``--interval`` one per interval until stopped; returns the last
    cycle's exit code. The registry clients live as long as the loop, so bearer tokens and
    hosts a 429 shut (Retry-After) carry over from one cycle to the next."""
    from imagebot.reconcile.registries import RegistryClients

    interval: float | None = options["interval"]
    clients: RegistryClients[str] = RegistryClients()
    try:
        while True:
            started = clock()
            code = _cycle(options, clients)
            if interval is None:
                return code
            sleep(max(0.0, interval - (clock() - started)))
    finally:
        clients.close()


def _cycle(options: Mapping[str, Any], clients: RegistryClients[str]) -> int:
    from imagebot.cli.settings_options import settings_and_loader
    from imagebot.errors import ImagebotError
    from imagebot.gitrepo import Workspace, check_git_templates

    try:
        settings, loader = settings_and_loader(options)
        check_git_templates(settings.git)
        # The clone runs while the rest of imagebot loads (requests, ruamel, GitPython).
        with Workspace.open(settings.git, meanwhile=_load_reconcile) as workspace:
            from imagebot.cli.progress import Progress
            from imagebot.reconcile import Edges, reconcile

            progress = Progress()
            try:
                edges = Edges(
                    progress=progress,
                    open_workspace=lambda _git: workspace,
                    make_registry=lambda settings: clients.lease(_OWNER, settings),
                )
                result = reconcile(settings, configure=loader, edges=edges)
            finally:
                progress.close()
    except ImagebotError as error:
        sys.stderr.write(f"imagebot: error: {redact(str(error))}\n")
        return exit_code_for(error)
    from imagebot.cli.render import dumps, result_to_json, result_to_text

    if options["output"] == "json":
        sys.stdout.write(dumps(result_to_json(result)))
    else:
        sys.stdout.write(result_to_text(result, dry_run=options["dry_run"]))
    if result.failed_repositories or result.stale_registries:
        names = ", ".join(sorted({*result.failed_repositories, *result.stale_registries}))
        sys.stderr.write(
            f"imagebot: registry unavailable for {names}; those images were left alone, "
            "run again later\n"
        )
        return EXIT_TRANSIENT
    if options["strict"] and result.problems:
        return EXIT_PROBLEMS
    return EXIT_OK


def _load_reconcile() -> None:
    import imagebot.reconcile  # noqa: F401 - loaded for its side effect: the modules are ready
