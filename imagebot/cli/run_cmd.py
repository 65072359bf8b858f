"""``imagebot run``: one reconcile (or a poll loop) from the command line.

Builds settings from flags and ``imagebot.yaml``, calls the shared reconcile and renders its
result. Exit codes: 0 success (changes or not), 1 transient failure, 2 configuration, usage or
another permanent error (which also ends an ``--interval`` loop), 3 with ``--strict`` when
problems were reported, 5 when ``--path`` holds no automated image.
"""

from __future__ import annotations

import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import click

from imagebot.cli.common import (
    EXIT_NO_MATCH,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_TRANSIENT,
    EXIT_USAGE,
    HELP_OPTIONS,
    exit_code_for,
)
from imagebot.cli.options import (
    ALLOW_DOWNGRADE,
    AUTHOR_EMAIL,
    AUTHOR_NAME,
    BRANCH,
    CONFIG,
    DRY_RUN,
    NO_PUSH,
    OUTPUT,
    PATHS,
    PUSH_BRANCH,
    REPO,
)
from imagebot.durations import parse_duration
from imagebot.errors import ConfigError
from imagebot.records import record
from imagebot.redact import redact

if TYPE_CHECKING:
    from pathlib import Path

    from imagebot.config import Receiver
    from imagebot.model import RunResult
    from imagebot.reconcile.registries import RegistryClients
    from imagebot.settings.files import CommittedFiles

_OWNER = "run"  # the one owner of the poll loop's registry clients


def parse_interval(_ctx: click.Context, _param: click.Parameter, text: str | None) -> float | None:
    """``--interval``: a duration as Flux writes it (``90s``, ``5m``, ``1h30m``), held to the
    rules of an ImageAutomation's ``spec.interval`` (its grammar, 1s to a year)."""
    if text is None:
        return None
    from imagebot.settings.grammar import read_flag

    try:
        seconds = parse_duration(text)
        if seconds <= 0:
            raise ConfigError(f"{text!r} is no time at all; give e.g. 30s or 5m")
        checked = read_flag("interval", text, "--interval")
    except ConfigError as error:
        raise click.BadParameter(str(error).removeprefix("--interval: ")) from None
    return checked if isinstance(checked, float) else seconds


@click.command(context_settings=HELP_OPTIONS)
@REPO
@BRANCH
@PATHS
@DRY_RUN
@NO_PUSH
@PUSH_BRANCH
@CONFIG
@click.option(
    "--interval",
    callback=parse_interval,
    help="Keep running, one cycle per interval (e.g. 90s, 5m, 1h30m).",
)
@ALLOW_DOWNGRADE
@AUTHOR_NAME
@AUTHOR_EMAIL
@click.option("--strict", is_flag=True, help="Exit 3 when problems were reported.")
@OUTPUT
def run(**options: Any) -> None:
    """Update images in Git from the registries: one commit, pushed.

    Finds automated images under --repo, asks each registry once per repository, picks tags by
    policy, rewrites only the image values, commits and pushes. With --interval it keeps polling
    until SIGTERM, which lets the cycle under way finish and exits 0.
    """
    if options["interval"] is None:
        raise SystemExit(poll(options))
    # SIGTERM is how Kubernetes, systemd and CI stop a loop: finish the cycle (a push is never
    # cut in half) and leave through ``poll``'s cleanup instead of dying on the signal.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())

    def pause(seconds: float) -> None:
        stop.wait(seconds)  # returns at once on SIGTERM

    raise SystemExit(poll(options, sleep=pause, stopped=stop.is_set))


# A cycle that failed as a whole for a passing reason waits the interval doubled per failure in
# a row, up to this (or the interval, if longer); a cycle that gets through resets it.
MAX_BACKOFF_SECONDS = 600.0
# Up to this fraction of each backoff is taken off at random, so that many loops that failed
# together (one Git host down) do not come back together.
BACKOFF_JITTER = 0.2


@record
class Cycle:
    """One cycle's exit code, whether it failed as a whole (no result at all), and whether the
    error came from the checked-out tree (its ``imagebot.yaml``, a ``paths`` entry it lacks);
    its result, and the notification receivers its ``--config`` named (None: not read)."""

    code: int
    failed: bool = False
    in_tree: bool = False
    result: RunResult | None = None
    receivers: tuple[Receiver, ...] | None = None


CycleFn = Callable[[Mapping[str, Any], "RegistryClients[str]"], Cycle]


def backoff(interval: float, failures: int, jitter: float) -> float:
    """Seconds to wait after ``failures`` (>= 1) whole-cycle transient failures in a row:
    ``interval * 2**(failures-1)``, capped at ``max(interval, MAX_BACKOFF_SECONDS)``, less up
    to ``BACKOFF_JITTER`` of it by ``jitter`` (0 <= jitter < 1)."""
    cap = max(interval, MAX_BACKOFF_SECONDS)
    delay = min(cap, interval * 2.0 ** min(failures - 1, 64))
    return delay * (1.0 - BACKOFF_JITTER * jitter)


def poll(
    options: Mapping[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    jitter: Callable[[], float] = random.random,
    cycle: CycleFn | None = None,
    stopped: Callable[[], bool] = lambda: False,
) -> int:
    """One cycle, or with ``--interval`` one per interval until stopped; returns the last
    cycle's exit code. The registry clients live as long as the loop, so bearer tokens and
    hosts a 429 shut (Retry-After) carry over from one cycle to the next.

    A permanent error (configuration, credentials refused, no such repository or branch, not a
    Git repository) ends the loop with ``EXIT_USAGE``: repeating it cannot help. An error in the
    checked-out tree (a bad ``imagebot.yaml``) does not: a commit fixes it, so the loop keeps
    its pace and says so. A cycle that
    failed as a whole for a passing reason backs off (``backoff``); a registry that fails for
    some images only is those images' problem, and the loop keeps its pace. Once ``stopped()``
    is true (SIGTERM) the loop ends after its cycle with ``EXIT_OK``.
    """
    from imagebot.cli.notices import RunNotices
    from imagebot.reconcile.registries import RegistryClients

    run_cycle = cycle or _cycle
    interval: float | None = options["interval"]
    clients: RegistryClients[str] = RegistryClients()
    notices = RunNotices(options["repo"], loop=interval is not None)
    failures = 0
    try:
        while True:
            started = clock()
            outcome = run_cycle(options, clients)
            notices.cycle_ended(outcome.code, outcome.result, outcome.receivers)
            if interval is None:
                return outcome.code
            if stopped():
                return EXIT_OK
            if outcome.code == EXIT_USAGE and outcome.in_tree:
                # Its fix arrives through Git, as for the operator's stalled automations.
                sys.stderr.write(
                    f"imagebot: waiting for a commit that fixes this; next check in "
                    f"{interval:.0f}s\n"
                )
            elif outcome.code == EXIT_USAGE:
                sys.stderr.write(
                    "imagebot: error: stopping the --interval loop: this error does not pass "
                    "by itself; fix it and start again\n"
                )
                return EXIT_USAGE
            failures = failures + 1 if outcome.failed else 0
            if failures:
                wait = backoff(interval, failures, jitter())
                sys.stderr.write(f"imagebot: next attempt in {wait:.0f}s\n")
            else:
                wait = max(0.0, interval - (clock() - started))
            sleep(wait)
            if stopped():
                return EXIT_OK
    finally:
        clients.close()
        notices.close()


def _cycle(options: Mapping[str, Any], clients: RegistryClients[str]) -> Cycle:
    from imagebot.cli.settings_options import settings_and_loader
    from imagebot.config import Settings
    from imagebot.errors import ImagebotError
    from imagebot.gitrepo import Workspace, check_git_templates

    final: list[Settings] = []
    in_tree: list[bool] = []
    receivers: tuple[Receiver, ...] | None = None

    def configure(root: Path, committed: CommittedFiles | None = None) -> Settings:
        try:
            final.append(loader(root, committed))
        except ImagebotError:
            in_tree.append(True)
            raise
        return final[-1]

    try:
        settings, loader = settings_and_loader(options)
        receivers = settings.notifications  # --config's alone: the repository's may name none
        check_git_templates(settings.git)
        # The clone runs while the rest of imagebot loads (requests, ruamel, GitPython).
        with Workspace.open(
            settings.git, meanwhile=_load_reconcile, objects_only=True
        ) as workspace:
            from imagebot.cli.progress import Progress
            from imagebot.reconcile import Edges, reconcile
            from imagebot.reconcile.forked import ForkedMap

            progress = Progress()
            try:
                edges = Edges(
                    progress=progress,
                    # The HTTP stack loads while a forked child starts on the scan, and GitPython
                    # while one starts on the rewrite (no git runs before the commit).
                    map_files=ForkedMap(_load_registry, _load_git),
                    open_workspace=lambda _git: workspace,
                    make_registry=lambda settings: clients.lease(_OWNER, settings),
                )
                result = reconcile(settings, configure=configure, edges=edges)
            finally:
                progress.close()
    except ImagebotError as error:
        sys.stderr.write(f"imagebot: error: {redact(str(error))}\n")
        return Cycle(
            exit_code_for(error),
            failed=not error.permanent,
            in_tree=bool(in_tree),
            receivers=receivers,
        )
    from imagebot.cli.render import document, result_to_json, result_to_text

    if options["output"] == "json":
        sys.stdout.write(document(result_to_json(result)))
    else:
        sys.stdout.write(result_to_text(result, dry_run=options["dry_run"]))
    if result.failed_repositories or result.stale_registries:
        names = ", ".join(sorted({*result.failed_repositories, *result.stale_registries}))
        sys.stderr.write(
            f"imagebot: registry unavailable for {names}; those images were left alone, "
            "run again later\n"
        )
        return Cycle(EXIT_TRANSIENT, result=result, receivers=receivers)
    if options["strict"] and result.problems:
        return Cycle(EXIT_PROBLEMS, result=result, receivers=receivers)
    paths = final[-1].paths if final else ()
    if paths and _nothing_found(result):
        where = ", ".join(repr(p) for p in paths)
        sys.stderr.write(f"imagebot: --path {where}: no automated image there; nothing to do\n")
        return Cycle(EXIT_NO_MATCH, result=result, receivers=receivers)
    return Cycle(EXIT_OK, result=result, receivers=receivers)


def _nothing_found(result: RunResult) -> bool:
    """True when the run met no automated image at all: none kept, changed, skipped or in
    trouble (every automated target ends in one of those)."""
    return not (
        result.changes
        or result.problems
        or result.skipped
        or result.chosen
        or result.failed_repositories
        or result.stale_registries
    )


def _load_reconcile() -> None:
    import imagebot.reconcile.run  # noqa: F401 - loaded for its side effect: the modules are ready


def _load_registry() -> None:
    import imagebot.registry.client  # noqa: F401 - loaded for its side effect, as above


def _load_git() -> None:
    import git  # noqa: F401 - loaded for its side effect, as above
