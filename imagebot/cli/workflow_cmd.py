"""Workflow commands, as Flux v1 users knew them from fluxctl: automate, deautomate, lock, unlock,
policy (``imagebot policy WORKLOAD ...``), and ``lint`` for CI and pre-commit; ``release``
(``release_cmd``) commits through ``commit_edit`` here too.

Each edits the annotations or images in Git byte-exactly, commits with the user's message and
author and pushes like ``imagebot run``. Only argument parsing and rendering live here; the edits
are ``imagebot.reconcile.workflow``'s. Heavy imports wait until a command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

from imagebot.cli.common import (
    EXIT_FINDINGS,
    EXIT_NO_MATCH,
    EXIT_OK,
    EXIT_TRANSIENT,
    HELP_OPTIONS,
    fail,
    local_tree,
    nothing_matched,
    reported_errors,
)
from imagebot.cli.options import (
    AUTHOR_EMAIL,
    AUTHOR_NAME,
    BRANCH,
    CONFIG,
    DRY_RUN,
    LOCAL_REPO,
    MESSAGE,
    NO_PUSH,
    OUTPUT,
    PATHS,
    REPO,
    USER,
    WORKLOAD,
    stacked,
    workload_of,
)

if TYPE_CHECKING:
    from pathlib import Path

    from imagebot.config import Settings
    from imagebot.manifest.annotate import SetAnnotation
    from imagebot.manifest.workload_index import Workload
    from imagebot.reconcile.edit import Edit, EditResult
    from imagebot.reconcile.workflow import Request

# What every command that commits takes, in the order ``--help`` lists it (release too).
GIT_OPTIONS = stacked(
    REPO, BRANCH, PATHS, DRY_RUN, NO_PUSH, CONFIG, AUTHOR_NAME, AUTHOR_EMAIL, USER, OUTPUT
)


def one_line(text: str | None) -> str | None:
    """Annotation values and subjects stay on one line, whatever the shell passed."""
    return " ".join(text.split()) if text else None


# ---- automate / deautomate / lock / unlock ------------------------------------------------------


@click.command(context_settings=HELP_OPTIONS)
@WORKLOAD
@GIT_OPTIONS
@MESSAGE
def automate(**options: Any) -> None:
    """Turn on automation for WORKLOAD (kind/name, namespace:kind/name or Kind/namespace/name)."""
    from imagebot.reconcile.workflow import automation_edits

    _annotate(options, "Automate", lambda _: automation_edits(True))


@click.command(context_settings=HELP_OPTIONS)
@WORKLOAD
@GIT_OPTIONS
@MESSAGE
def deautomate(**options: Any) -> None:
    """Turn off automation for WORKLOAD; its tag policies stay for next time."""
    from imagebot.reconcile.workflow import automation_edits

    _annotate(options, "Deautomate", lambda workload: automation_edits(False, workload))


@click.command(context_settings=HELP_OPTIONS)
@WORKLOAD
@GIT_OPTIONS
@click.option("-m", "--message", help="Why it is locked; kept in the lock and the commit.")
def lock(**options: Any) -> None:
    """Lock WORKLOAD: imagebot run and release leave its images where they are."""
    from imagebot.reconcile.workflow import lock_edits

    reason, user = one_line(options["message"]), one_line(options["user"])
    edits = lock_edits(reason, user)
    options["message"] = None  # the reason goes into the subject below, not instead of it
    _annotate(options, "Lock", lambda _: edits, suffix=f": {reason}" if reason else "")


@click.command(context_settings=HELP_OPTIONS)
@WORKLOAD
@GIT_OPTIONS
@MESSAGE
def unlock(**options: Any) -> None:
    """Unlock WORKLOAD, dropping its lock message and user."""
    from imagebot.reconcile.workflow import unlock_edits

    _annotate(options, "Unlock", lambda _: unlock_edits())


# ---- policy WORKLOAD ----------------------------------------------------------------------------


@click.command("set", context_settings=HELP_OPTIONS)
@WORKLOAD
@GIT_OPTIONS
@MESSAGE
@click.option("-t", "--tag", "tags", multiple=True, metavar="CONTAINER=POLICY",
              help="CONTAINER's tag policy (glob:, regex:, semver:, ...). Repeatable.")  # fmt: skip
@click.option("--tag-all", metavar="POLICY", help="Set POLICY for every container.")
@click.option("--untag", multiple=True, metavar="CONTAINER", help="Remove CONTAINER's policy.")
@click.option("--automate", is_flag=True, help="Also turn on automation (as imagebot automate).")
@click.option("--deautomate", is_flag=True,
              help="Also turn off automation (as imagebot deautomate).")  # fmt: skip
@click.option("--lock", is_flag=True, help="Also lock the workload (as imagebot lock; -m: why).")
@click.option("--unlock", is_flag=True, help="Also unlock the workload (as imagebot unlock).")
def policy_set(**options: Any) -> None:
    """Set or remove WORKLOAD's tag policies: imagebot policy WORKLOAD --tag flask=semver:~1.9

    --automate, --deautomate, --lock and --unlock do what their commands do, in the same
    commit, as fluxctl policy's flags did.
    """
    from imagebot.reconcile.workflow import policy_edits

    tags = [_container_policy(text) for text in options["tags"]]
    switches = [name for name in ("automate", "deautomate", "lock", "unlock") if options[name]]
    if not tags and not options["tag_all"] and not options["untag"] and not switches:
        fail(
            "say what to change: --tag CONTAINER=POLICY, --tag-all POLICY, --untag CONTAINER, "
            "--automate, --deautomate, --lock or --unlock"
        )
    for one, other in (("automate", "deautomate"), ("lock", "unlock")):
        if options[one] and options[other]:
            fail(f"--{one} and --{other} contradict each other: give one of them")
    with reported_errors():
        policies = policy_edits(tags, options["tag_all"], options["untag"])
    switched = _switch_edits(options)
    reason = one_line(options["message"]) if options["lock"] else None
    only = (
        switches[0]
        if len(switches) == 1 and not (tags or options["tag_all"] or options["untag"])
        else None
    )
    verb = {"automate": "Automate", "deautomate": "Deautomate", "lock": "Lock", "unlock": "Unlock"}
    if only == "lock":
        options["message"] = None  # the reason goes into the subject, as imagebot lock does
    _annotate(
        options,
        verb[only] if only else "Update policies of",
        lambda workload: [*switched, *policies(workload)],
        suffix=f": {reason}" if only == "lock" and reason else "",
    )


def _switch_edits(options: dict[str, Any]) -> list[SetAnnotation]:
    """The annotations ``policy --automate/--deautomate/--lock/--unlock`` set or remove."""
    from imagebot.reconcile.workflow import automation_edits, lock_edits, unlock_edits

    edits: list[SetAnnotation] = []
    if options["automate"] or options["deautomate"]:
        edits += automation_edits(bool(options["automate"]))
    if options["lock"]:
        edits += lock_edits(one_line(options["message"]), one_line(options["user"]))
    if options["unlock"]:
        edits += unlock_edits()
    return edits


def _container_policy(text: str) -> tuple[str, str]:
    container, equals, policy = text.partition("=")
    if not equals or not container.strip() or not policy.strip():
        fail(f"--tag {text!r}: write it as CONTAINER=POLICY, e.g. flask=semver:~1.9")
    return container.strip(), policy.strip()


# ---- lint ---------------------------------------------------------------------------------------


@click.command(context_settings=HELP_OPTIONS)
@click.argument("files", nargs=-1, type=click.Path())
@LOCAL_REPO
@PATHS
@OUTPUT
@click.pass_context
def lint(
    ctx: click.Context, repo: str, paths: tuple[str, ...], files: tuple[str, ...], output: str
) -> None:
    """Check automation annotations and policies; print file:line: message, exit 4 if any.

    FILES (as pre-commit passes them) only decide whether to run: the whole tree is checked,
    since duplicates and Flux image policies are only visible across files.
    """
    from imagebot.cli.render import document, problem_to_json
    from imagebot.reconcile.lint import lint_tree

    with reported_errors():
        base, relative = local_tree(ctx, repo, paths)
        findings = lint_tree(base, relative)
    if output == "json":
        click.echo(document({"findings": [problem_to_json(f) for f in findings]}), nl=False)
    else:
        for finding in findings:
            click.echo(str(finding))
    if findings:
        sys.stderr.write(f"imagebot lint: {len(findings)} finding(s)\n")
        raise SystemExit(EXIT_FINDINGS)
    if relative and not _automated_under(base, relative):
        nothing_matched(relative)


def _automated_under(base: Path, relative: Sequence[str]) -> bool:
    """True when ``relative`` (below ``base``) holds an automated image: a clean lint of a
    folder with nothing automated is more likely a wrong ``--path`` than a clean tree."""
    from imagebot.manifest import scan_tree

    return bool(scan_tree(base, relative, only_automated=True).targets)


# ---- shared --------------------------------------------------------------------------------------


def request_of(options: dict[str, Any]) -> Request:
    """Who asks (``--user``) and the subject they want (``-m``), on one line each."""
    from imagebot.reconcile.workflow import Request

    return Request(subject=one_line(options.get("message")), user=one_line(options["user"]))


def _annotate(
    options: dict[str, Any],
    verb: str,
    edits_for: Callable[[Workload], Sequence[SetAnnotation]],
    *,
    suffix: str = "",
) -> None:
    from imagebot.model import WorkloadId
    from imagebot.reconcile.workflow import annotate

    with reported_errors():
        wanted = WorkloadId.parse(workload_of(options), options["namespace"])
    request = request_of(options)

    def compute(root: Path, settings: Settings) -> Edit:
        return annotate(
            root,
            settings.paths,
            wanted,
            edits_for=edits_for,
            subject_for=lambda w: f"{verb} {w.id.short}{suffix}",
            request=request,
        )

    commit_edit(options, compute)


def commit_edit(options: dict[str, Any], compute: Callable[[Path, Settings], Edit]) -> NoReturn:
    """Open the repository, commit and push what ``compute`` returns, print it, and exit:
    0 done, 5 nothing matched, 1 a registry that failed for a passing reason."""
    from imagebot.cli.settings_options import settings_and_loader
    from imagebot.reconcile.edit import edit_repository

    with reported_errors():
        settings, loader = settings_and_loader(options)
        result = edit_repository(settings, compute, configure=loader)
    if options["output"] == "json":
        _render_json(result, dry_run=options["dry_run"])
    else:
        _render(result, dry_run=options["dry_run"])
    if any(problem.code.transient for problem in result.edit.problems):
        raise SystemExit(EXIT_TRANSIENT)  # a registry that failed for a passing reason
    raise SystemExit(EXIT_OK if result.edit.matched else EXIT_NO_MATCH)


def _render(result: EditResult, *, dry_run: bool) -> None:
    edit = result.edit
    for note in edit.notes:
        click.echo(note)
    for problem in edit.problems:
        severity = "" if problem.severity == "error" else f"{problem.severity}: "
        sys.stderr.write(f"imagebot: {severity}{problem}\n")
    if dry_run:
        click.echo(result.diff, nl=False)
        return
    if result.commit:
        subject = edit.message.splitlines()[0] if edit.message else ""
        where = f"pushed to {result.branch}" if result.pushed else "not pushed"
        click.echo(f"committed {result.commit[:12]} {subject!r} ({where})")


def _render_json(result: EditResult, *, dry_run: bool) -> None:
    """What changed (or, with --dry-run, would), the commit and where it went; the keys ``run``
    shares (``problems``, ``commit``, ``pushed``, ``branch``, ``pushAttempts``) mean the same."""
    from imagebot.cli.render import document, problem_to_json

    edit = result.edit
    click.echo(
        document(
            {
                "matched": edit.matched,
                "files": sorted(edit.texts),
                "message": edit.message,
                "notes": list(edit.notes),
                "problems": [problem_to_json(p) for p in edit.problems],
                "diff": result.diff,
                "dryRun": dry_run,
                "commit": result.commit,
                "pushed": result.pushed,
                "branch": result.branch,
                "pushAttempts": result.push_attempts,
            }
        ),
        nl=False,
    )
