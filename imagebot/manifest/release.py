"""Plan a manual release of IMAGE:TAG over scanned targets: which values change, which refuse.

``plan_set_image`` is shared by ``imagebot set-image`` and the ``release`` workflow: it matches
targets by canonical repository name (``nginx`` is ``docker.io/library/nginx``; a longer name
that merely starts the same is another image) and refuses locked workloads. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from imagebot.manifest.update import Update
from imagebot.model import Problem, Target
from imagebot.refs import ImageRef


def plan_set_image(
    targets: Sequence[Target],
    image: ImageRef,
    tag: str | None,
    digest: str | None = None,
) -> tuple[list[Update], list[Problem]]:
    """Updates giving every target of ``image`` the new ``tag`` (and/or ``digest``); locked
    workloads are refused with a Problem that quotes the lock message."""
    updates: list[Update] = []
    problems: list[Problem] = []
    matched = targets_of(targets, image)
    # A tag whose entry also pins a digest (Kustomize ``newTag`` + ``digest``, setter-marked
    # ``tag`` + ``digest``): the old digest would still win, so without a new one neither moves.
    pinned = {_entry(t) for t in matched if t.field_part == "digest"} if digest is None else set()
    for target in matched:
        where = target.location
        if target.automation.locked:
            problems.append(
                Problem(
                    f"{target.workload} is locked{target.automation.why_locked}; unlock it to "
                    f"release {image.name}",
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


def targets_of(targets: Sequence[Target], image: ImageRef) -> list[Target]:
    """The targets whose repository is ``image``'s, by canonical name."""
    return [target for target in targets if target.image.name == image.name]
