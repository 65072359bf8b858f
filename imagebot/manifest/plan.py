"""Plan a manual release of IMAGE:TAG over scanned targets, apply updates to texts, show diffs.

``plan_set_image`` is shared by ``imagebot set-image`` and the ``release`` workflow: it matches
targets by canonical repository name (``nginx`` is ``docker.io/library/nginx``; a longer name
that merely starts the same is another image) and refuses locked workloads. Pure: no I/O.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from imagebot.errors import ManifestError
from imagebot.manifest.rewrite import Update, new_value, rewrite_text
from imagebot.model import Problem, Target
from imagebot.refs import ImageRef


def plan_set_image(
    targets: Sequence[Target],
    image: ImageRef,
    tag: str | None,
    digest: str | None = None,
    *,
    workloads: Sequence[str] = (),
) -> tuple[list[Update], list[Problem]]:
    """Updates giving every target of ``image`` the new ``tag`` (and/or ``digest``).

    ``workloads`` (``Kind/namespace/name``) limits the release to those workloads when given.
    Locked workloads are refused with a Problem that quotes the lock message.
    """
    updates: list[Update] = []
    problems: list[Problem] = []
    matched = targets_of(targets, image, workloads)
    # A tag whose entry also pins a digest (Kustomize ``newTag`` + ``digest``, setter-marked
    # ``tag`` + ``digest``): the old digest would still win, so without a new one neither moves.
    pinned = {_entry(t) for t in matched if t.field_part == "digest"} if digest is None else set()
    for target in matched:
        where = target.location
        if target.locked:
            reason = f": {target.locked_message}" if target.locked_message else ""
            problems.append(
                Problem(
                    f"{target.workload} is locked{reason}; unlock it to release {image.name}",
                    where.file,
                    where.line,
                    str(target.image),
                )
            )
        elif target.field_part == "tag" and _entry(target) in pinned:
            continue  # reported once, with the digest beside it
        elif target.field_part == "digest" and digest is None:
            problems.append(
                Problem(
                    f"{target.workload} pins {image.name} by digest; give IMAGE:TAG@sha256:... "
                    f"to update it (its tag, if any, is left as it is too)",
                    where.file,
                    where.line,
                    str(target.image),
                )
            )
        elif target.field_part == "tag" and tag is None:
            problems.append(
                Problem(f"{target.workload} needs a tag", where.file, where.line, str(target.image))
            )
        elif target.field_part != "name":  # a name field already names this image
            updates.append(Update(target, tag, digest))
    return updates, problems


def _entry(target: Target) -> tuple[str, int, tuple[str | int, ...]]:
    """The mapping that holds a target's field: a tag and a digest in one entry share it."""
    where = target.location
    return (where.file, where.document, target.yaml_path[:-1])


def targets_of(
    targets: Sequence[Target], image: ImageRef, workloads: Sequence[str] = ()
) -> list[Target]:
    """The targets whose repository is ``image``'s, by canonical name."""
    return [
        target
        for target in targets
        if target.image.name == image.name and (not workloads or target.workload in workloads)
    ]


def updated_value(update: Update) -> str:
    """The text the target's field will hold once ``update`` is applied."""
    target = update.target
    return new_value(update, target.current_value, str(target.location))


@dataclass(frozen=True, slots=True)
class RewriteResult:
    """New texts of the files that changed (relative path -> text) and the files refused."""

    new_texts: Mapping[str, str] = field(default_factory=dict)
    applied: tuple[Update, ...] = ()
    problems: tuple[Problem, ...] = ()


def rewrite_files(texts: Mapping[str, str], updates: Sequence[Update]) -> RewriteResult:
    """Apply updates file by file to ``texts``; a file that cannot be rewritten safely is left
    out whole and reported, the others go on."""
    by_file: dict[str, list[Update]] = defaultdict(list)
    for update in updates:
        by_file[update.target.location.file].append(update)
    new_texts: dict[str, str] = {}
    applied: list[Update] = []
    problems: list[Problem] = []
    for file, file_updates in sorted(by_file.items()):
        old = texts.get(file)
        if old is None:
            problems.append(Problem("not rewritten: the file's text is not at hand", file))
            continue
        try:
            new = rewrite_text(old, file, file_updates)
        except ManifestError as error:
            problems.append(_not_rewritten(file, str(error)))
            continue
        if new != old:
            new_texts[file] = new
            # A target already at the new value is not news: the others in its file are.
            applied.extend(u for u in file_updates if updated_value(u) != u.target.current_value)
    return RewriteResult(new_texts, tuple(applied), tuple(problems))


def _not_rewritten(file: str, message: str) -> Problem:
    """The refusal as a Problem, its ``file:line:`` prefix moved into the Problem's fields."""
    line: int | None = None
    if message.startswith(f"{file}:"):
        rest = message.removeprefix(f"{file}:")
        number, _, tail = rest.partition(": ")
        if number.isdigit():
            line, message = int(number), tail
        else:
            message = rest.lstrip()
    return Problem(f"not rewritten: {message}", file, line)


def unified_diff(file: str, old: str, new: str) -> str:
    """A ``git diff``-like unified diff of one file; line endings are kept as they are."""
    lines = difflib.unified_diff(
        _lines(old),
        _lines(new),
        fromfile=f"a/{file}",
        tofile=f"b/{file}",
    )
    out: list[str] = []
    for line in lines:
        out.append(line)
        if not line.endswith(("\n", "\r")):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def _lines(text: str) -> list[str]:
    # Only LF ends a line here: str.splitlines would also split on form feeds and NEL.
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]]
    return [*lines, pieces[-1]] if pieces[-1] else lines
