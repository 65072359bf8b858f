"""The edits behind the workflow commands: annotate one workload, or release IMAGE:TAG.

Each function reads the tree as it is now and returns an ``Edit`` (new texts, a commit message,
notes) for ``edit_repository`` to commit and push; none commits or prints. ``set_image`` is the
one that writes: the release, in place, for ``imagebot set-image``. Policies are
validated with the policy engine before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from imagebot.errors import PolicyError, UsageError
from imagebot.manifest import (
    Update,
    plan_set_image,
    rewrite_files,
    scan_tree,
    targets_of,
    write_files,
)
from imagebot.manifest.annotate import SetAnnotation, edit_annotations
from imagebot.manifest.annotations import TAG
from imagebot.manifest.scope import Scope, within
from imagebot.manifest.workload_index import Workload, resolve
from imagebot.model import PolicySpec, Problem, Target, WorkloadId
from imagebot.policy import parse_policy
from imagebot.reconcile.copies import release_report
from imagebot.reconcile.edit import Edit
from imagebot.records import record
from imagebot.refs import ImageRef

EditsFor = Callable[[Workload], Sequence[SetAnnotation]]


@record
class Request:
    """Who asked and how they want the commit to read."""

    subject: str | None = None  # --message: replaces the generated subject
    user: str | None = None  # --user: recorded in the message (and in locked_user by lock)

    def message(self, default_subject: str, body: Sequence[str] = ()) -> str:
        lines = list(body)
        if self.user:
            lines.append(f"Requested-by: {self.user}")
        subject = self.subject or default_subject
        return f"{subject}\n\n" + "\n".join(lines) + "\n" if lines else f"{subject}\n"


def index_tree(root: Path, paths: Sequence[str]) -> tuple[list[Workload], dict[str, str]]:
    """Every workload of the tree and the text of each file that holds one (or a target),
    from one scan: each file is composed once."""
    scan = scan_tree(root, paths, with_workloads=True)
    return list(scan.workloads), dict(scan.texts)


def annotate(
    root: Path,
    paths: Sequence[str],
    wanted: WorkloadId,
    *,
    edits_for: EditsFor,
    subject_for: Callable[[Workload], str],
    request: Request,
) -> Edit:
    """Set or remove annotations of the one workload ``wanted`` names."""
    workloads, texts = index_tree(root, paths)
    workload = resolve(wanted, workloads)
    edits = edits_for(workload)
    old = texts[workload.file]
    new = edit_annotations(old, workload.id, edits, file=workload.file)
    if new == old:
        return Edit(notes=(f"{workload.id} ({workload.where}): already so; nothing to do",))
    body = [f"{workload.where}  {_describe(edit)}" for edit in edits]
    automated = next((e.value == "true" for e in edits if e.name == "automated"), None)
    notes: tuple[str, ...] = ()
    if any(e.name.startswith(TAG) and e.value for e in edits) and not (
        automated if automated is not None else workload.automated
    ):
        notes = (
            f"note: {workload.id} is not automated; the policy takes effect after "
            f"`imagebot automate {workload.id}`",
        )
    return Edit(
        texts={workload.file: (old, new)},
        message=request.message(subject_for(workload), body),
        notes=notes,
    )


def _describe(edit: SetAnnotation) -> str:
    return f"remove {edit.name}" if edit.value is None else f"{edit.name}: {edit.value}"


def automation_edits(on: bool, workload: Workload | None = None) -> list[SetAnnotation]:
    """``imagebot automate`` (``on``) and ``deautomate``: the policies stay for next time. A
    workload that Keel's policy automates is turned off with ``automated: "false"``, which wins
    over it; removing the annotation would leave it automated."""
    if not on and workload is not None and workload.keel:
        return [SetAnnotation("automated", "false")]
    return [SetAnnotation("automated", "true" if on else None)]


def lock_edits(reason: str | None, user: str | None) -> list[SetAnnotation]:
    """``imagebot lock``: the lock, and why and by whom when given."""
    edits = [SetAnnotation("locked", "true")]
    if reason:
        edits.append(SetAnnotation("locked_msg", reason))
    if user:
        edits.append(SetAnnotation("locked_user", user))
    return edits


def unlock_edits() -> list[SetAnnotation]:
    """``imagebot unlock``: the lock goes, with its message and user."""
    return [SetAnnotation(name, None) for name in ("locked", "locked_msg", "locked_user")]


def policy_edits(
    tags: Sequence[tuple[str, str]], tag_all: str | None, untag: Sequence[str]
) -> EditsFor:
    """The edits of ``imagebot policy``, checked against the workload's containers and the
    policy engine first (a bad policy is refused with the parser's message)."""
    for container, text in [*tags, *((("*", tag_all),) if tag_all else ())]:
        try:
            parse_policy(PolicySpec(text, f"--tag {container}={text}"))
        except PolicyError as error:
            raise PolicyError(f"policy {text!r}: {error}") from error

    def edits_for(workload: Workload) -> list[SetAnnotation]:
        known = list(workload.containers) if workload.containers is not None else None
        if tag_all is not None and known is None:
            raise UsageError(
                f"{workload.id} has no container list (a HelmRelease): name each value "
                "with --tag NAME=POLICY"
            )
        named = [c for c, _ in tags] + list(untag)
        missing = [c for c in named if known is not None and c not in known]
        if missing:
            raise UsageError(
                f"{workload.id} has no container {', '.join(map(repr, missing))}; "
                f"its containers: {', '.join(known or []) or 'none'}"
            )
        wanted = dict.fromkeys(known or [], tag_all) if tag_all else {}
        wanted.update(dict(tags))
        edits = [SetAnnotation(TAG + c, p) for c, p in wanted.items() if p is not None]
        return edits + [SetAnnotation(TAG + c, None) for c in untag]

    return edits_for


@record
class Release:
    image: ImageRef
    tag: str | None
    digest: str | None
    workloads: tuple[WorkloadId, ...] = ()
    force: bool = False
    excludes: tuple[WorkloadId, ...] = ()  # --exclude: never these, even when they hold IMAGE

    @property
    def scope(self) -> Scope:
        return Scope(self.workloads, self.excludes)


@record
class Released:
    """What releasing IMAGE:TAG into the tree as it is now writes, and what stood in the way.

    ``found``: the image has a target in scope; ``done``: some target holds the release once
    ``texts`` are written (it may hold it already); ``problems``: refused targets and files that
    could not be rewritten; ``tree_problems`` and ``skipped``: what the scan met elsewhere;
    ``copies``: every other copy of the image seen and not changed, with why (a copy imagebot
    could not read is a warning, one left alone on purpose an info line).
    """

    texts: Mapping[str, tuple[str, str]]
    applied: tuple[Update, ...]
    problems: tuple[Problem, ...]
    found: bool
    done: bool
    tree_problems: tuple[Problem, ...] = ()
    skipped: tuple[Problem, ...] = ()
    copies: tuple[Problem, ...] = ()


def release_into(root: Path, paths: Sequence[str], wanted: Release) -> Released:
    """IMAGE:TAG written into the image's targets (only the named workloads' when given), in
    memory: the one use case behind ``release`` (which commits) and ``set-image`` (which
    writes the files in place)."""
    scope = wanted.scope
    scan = scan_tree(
        root,
        paths,
        with_workloads=scope.needs_workloads,
        watch=(wanted.image.name,),
        with_facts=True,
    )
    targets = list(scan.targets)
    not_named: list[Target] = []
    if scope.needs_workloads:
        scoped = within(targets, scan.workloads, scope)
        not_named = [t for t in targets_of(targets, wanted.image) if t in scoped.left_out]
        targets = list(scoped.targets)
    if wanted.force:
        targets = [replace(t, automation=replace(t.automation, locked=False)) for t in targets]
    updates, problems = plan_set_image(targets, wanted.image, wanted.tag, wanted.digest)
    result = rewrite_files(scan.texts, updates, scan.facts)
    failed = {problem.file for problem in result.problems}
    return Released(
        texts={file: (scan.texts[file], new) for file, new in result.new_texts.items()},
        applied=tuple(result.applied),
        problems=(*problems, *result.problems),
        found=bool(targets_of(targets, wanted.image)),
        done=any(u.target.location.file not in failed for u in updates),
        tree_problems=tuple(scan.problems),
        skipped=tuple(scan.skipped),
        copies=tuple(release_report(scan.occurrences, not_named)),
    )


def set_image(root: Path, paths: Sequence[str], wanted: Release, *, write: bool) -> Released:
    """``release_into``, with the new texts written in place when ``write``; nothing commits."""
    released = release_into(root, paths, wanted)
    if write:
        write_files(root, {path: new for path, (_, new) in released.texts.items()})
    return released


def release(root: Path, paths: Sequence[str], wanted: Release, request: Request) -> Edit:
    """``release_into`` as one commit: the message names what was released, and where."""
    released = release_into(root, paths, wanted)
    texts = released.texts
    version = wanted.tag or wanted.digest or ""
    names = sorted({u.target.container or wanted.image.repository.rsplit("/", 1)[-1]
                    for u in released.applied})  # fmt: skip
    subject = (
        f"Release {names[0]} to {version}"
        if len(names) == 1
        else f"Release {wanted.image.repository.rsplit('/', 1)[-1]} to {version}"
    )
    body = [
        f"{u.target.location}  {u.target.workload}  {u.target.image} -> {version}"
        for u in released.applied
    ]
    return Edit(
        texts=texts,
        message=request.message(subject, body),
        problems=(*released.problems, *released.copies),
        matched=bool(texts),
        notes=() if texts or released.problems else (f"no target of {wanted.image.name} found",),
    )
