"""Workflow commands, as Flux v1 users knew them from fluxctl: automate, deautomate, lock, unlock,
policy (``imagebot policy WORKLOAD ...``), release, and ``lint`` for CI and pre-commit.

Each edits the annotations or images in Git byte-exactly, commits with the user's message and
author and pushes like ``imagebot run``. Only argument parsing and rendering live here; the edits
are ``imagebot.reconcile.workflow``'s. Heavy imports wait until a command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from imagebot.cli.common import (
    EXIT_FINDINGS,
    EXIT_NO_MATCH,
    EXIT_OK,
    LOCAL_REPO,
    PATHS,
    fail,
    local_tree,
    nothing_matched,
    reported_errors,
)
from imagebot.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from imagebot.config import Settings
    from imagebot.manifest.annotate import SetAnnotation
    from imagebot.manifest.workload_index import Workload
    from imagebot.reconcile.edit import Edit, EditResult
    from imagebot.reconcile.workflow import Request

Decorator = Callable[[Callable[..., None]], Callable[..., None]]

_GIT_OPTIONS: list[Decorator] = [
    click.option("--repo", default=".", show_default=True, help="Local path or Git URL."),
    click.option("--branch", help="Branch to change (default: the remote's default branch)."),
    PATHS,
    click.option("--dry-run", is_flag=True, help="Print the diff; touch nothing."),
    click.option("--no-push", is_flag=True, help="Commit but do not push."),
    click.option("--config", "config_file", help="Settings file (default: imagebot.yaml)."),
    click.option("--author-name", help="Commit author and committer name."),
    click.option("--author-email", help="Commit author and committer email."),
    click.option("--user", help="Who asks for this; recorded in the commit message."),
]
_MESSAGE = click.option("-m", "--message", help="Commit subject (replaces the default one).")
_WORKLOAD = [
    click.argument("workload"),
    click.option("-n", "--namespace", help="Namespace of WORKLOAD, if it does not say."),
]


def _with(*decorators: Decorator) -> Decorator:
    def apply(func: Callable[..., None]) -> Callable[..., None]:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


def one_line(text: str | None) -> str | None:
    """Annotation values and subjects stay on one line, whatever the shell passed."""
    return " ".join(text.split()) if text else None


# ---- automate / deautomate / lock / unlock ------------------------------------------------------


@click.command()
@_with(*_WORKLOAD, *_GIT_OPTIONS, _MESSAGE)
def automate(**options: Any) -> None:
    """Turn on automation for WORKLOAD (kind/name, namespace:kind/name or Kind/namespace/name)."""
    from imagebot.reconcile.workflow import automation_edits

    _annotate(options, "Automate", lambda _: automation_edits(True))


@click.command()
@_with(*_WORKLOAD, *_GIT_OPTIONS, _MESSAGE)
def deautomate(**options: Any) -> None:
    """Turn off automation for WORKLOAD; its tag policies stay for next time."""
    from imagebot.reconcile.workflow import automation_edits

    _annotate(options, "Deautomate", lambda _: automation_edits(False))


@click.command()
@_with(*_WORKLOAD, *_GIT_OPTIONS)
@click.option("-m", "--message", help="Why it is locked; kept in the lock and the commit.")
def lock(**options: Any) -> None:
    """Lock WORKLOAD: imagebot run and release leave its images where they are."""
    from imagebot.reconcile.workflow import lock_edits

    reason, user = one_line(options["message"]), one_line(options["user"])
    edits = lock_edits(reason, user)
    options["message"] = None  # the reason goes into the subject below, not instead of it
    _annotate(options, "Lock", lambda _: edits, suffix=f": {reason}" if reason else "")


@click.command()
@_with(*_WORKLOAD, *_GIT_OPTIONS, _MESSAGE)
def unlock(**options: Any) -> None:
    """Unlock WORKLOAD, dropping its lock message and user."""
    from imagebot.reconcile.workflow import unlock_edits

    _annotate(options, "Unlock", lambda _: unlock_edits())


# ---- policy WORKLOAD ----------------------------------------------------------------------------


@click.command("set")
@_with(*_WORKLOAD, *_GIT_OPTIONS, _MESSAGE)
@click.option("-t", "--tag", "tags", multiple=True, metavar="CONTAINER=POLICY",
              help="CONTAINER's tag policy (glob:, regex:, semver:, ...). Repeatable.")  # fmt: skip
@click.option("--tag-all", metavar="POLICY", help="Set POLICY for every container.")
@click.option("--untag", multiple=True, metavar="CONTAINER", help="Remove CONTAINER's policy.")
def policy_set(**options: Any) -> None:
    """Set or remove WORKLOAD's tag policies: imagebot policy WORKLOAD --tag flask=semver:~1.9"""
    from imagebot.reconcile.workflow import policy_edits

    tags = [_container_policy(text) for text in options["tags"]]
    if not tags and not options["tag_all"] and not options["untag"]:
        fail("say what to change: --tag CONTAINER=POLICY, --tag-all POLICY or --untag CONTAINER")
    with reported_errors():
        edits_for = policy_edits(tags, options["tag_all"], options["untag"])
    _annotate(options, "Update policies of", edits_for)


def _container_policy(text: str) -> tuple[str, str]:
    container, equals, policy = text.partition("=")
    if not equals or not container.strip() or not policy.strip():
        fail(f"--tag {text!r}: write it as CONTAINER=POLICY, e.g. flask=semver:~1.9")
    return container.strip(), policy.strip()


# ---- release -------------------------------------------------------------------------------------


@click.command()
@click.option("--image", "image_text", required=True, metavar="IMAGE:TAG",
              help="The image and the tag (or @digest) to release.")  # fmt: skip
@click.option("-w", "--workload", "workloads", multiple=True, metavar="WORKLOAD",
              help="Only these workloads (repeatable); default: all of IMAGE.")  # fmt: skip
@click.option("-n", "--namespace", help="Namespace of workloads that do not say.")
@click.option("--force", is_flag=True, help="Release to locked workloads too.")
@_with(*_GIT_OPTIONS, _MESSAGE)
def release(**options: Any) -> None:
    """Write IMAGE:TAG into every target of IMAGE (or the named workloads'), commit and push.

    Locked workloads are refused unless --force. Exit 5 when nothing was released.
    """
    from imagebot.model import WorkloadId
    from imagebot.reconcile.workflow import Release
    from imagebot.reconcile.workflow import release as plan_release
    from imagebot.refs import parse_reference

    with reported_errors():
        image = parse_reference(options["image_text"])
        if image.tag is None and image.digest is None:
            raise UsageError(f"--image {options['image_text']!r}: give a tag (IMAGE:TAG)")
        wanted = Release(
            image,
            image.tag,
            image.digest,
            tuple(WorkloadId.parse(w, options["namespace"]) for w in options["workloads"]),
            options["force"],
        )
    request = _request(options)
    _commit(options, lambda root, s: plan_release(root, s.paths, wanted, request))


# ---- lint ---------------------------------------------------------------------------------------


@click.command()
@click.argument("files", nargs=-1, type=click.Path())
@LOCAL_REPO
@PATHS
@click.pass_context
def lint(ctx: click.Context, repo: str, paths: tuple[str, ...], files: tuple[str, ...]) -> None:
    """Check automation annotations and policies; print file:line: message, exit 4 if any.

    FILES (as pre-commit passes them) only decide whether to run: the whole tree is checked,
    since duplicates and Flux image policies are only visible across files.
    """
    from imagebot.reconcile.lint import lint_tree

    with reported_errors():
        base, relative = local_tree(ctx, repo, paths)
        findings = lint_tree(base, relative)
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


def _request(options: dict[str, Any]) -> Request:
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
        wanted = WorkloadId.parse(options["workload"], options["namespace"])
    request = _request(options)

    def compute(root: Path, settings: Settings) -> Edit:
        return annotate(
            root,
            settings.paths,
            wanted,
            edits_for=edits_for,
            subject_for=lambda w: f"{verb} {w.id.short}{suffix}",
            request=request,
        )

    _commit(options, compute)


def _commit(options: dict[str, Any], compute: Callable[[Path, Settings], Edit]) -> None:
    from imagebot.cli.settings_options import settings_and_loader
    from imagebot.reconcile.edit import edit_repository

    with reported_errors():
        settings, loader = settings_and_loader(options)
        result = edit_repository(settings, compute, configure=loader)
    _render(result, dry_run=options["dry_run"])
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
