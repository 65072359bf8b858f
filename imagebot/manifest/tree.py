"""Scan a tree's manifests, and write rewritten files back atomically.

Files are listed and read through ``TreeFiles`` (``files.py``: a directory, or a commit's
objects), screened by cheap byte searches before any YAML is composed, and oversized ones are
reported, not read. Writing back is for a work tree on disk only.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from imagebot.errors import ManifestError
from imagebot.manifest.facts import FileFacts
from imagebot.manifest.filemap import FileMap, serial_map
from imagebot.manifest.files import DirectoryFiles, FileRef, TreeFiles, is_manifest_name
from imagebot.manifest.occurrences import Occurrence
from imagebot.manifest.scan import FileScan, scan_file, target_order, with_setters
from imagebot.manifest.setters import resolve_markers
from imagebot.model import Problem, Target
from imagebot.records import record

if TYPE_CHECKING:
    from imagebot.manifest.argocd import ArgoApp
    from imagebot.manifest.workload_index import Workload

MAX_FILE_BYTES = 8 * 1024 * 1024
# Every target kind needs one of these words in its file: screen before composing anything.
SCREEN_TOKENS = (b"image", b"newTag")
# Keel's keel.sh/policy (and its legacy keel.observer/policy) automates on its own; Argo CD Image
# Updater's annotations name images on an Application.
AUTOMATION_TOKENS = (
    b"automated",
    b"$imagepolicy",
    b"ImagePolicy",
    b"ImageRepository",
    b"keel.sh/policy",
    b"keel.observer/policy",
    b"argocd-image-updater",
)


@record
class TreeScan:
    """Every target of a tree, what went wrong, and the text each target was found in."""

    targets: tuple[Target, ...] = ()
    problems: tuple[Problem, ...] = ()
    skipped: tuple[Problem, ...] = ()
    texts: Mapping[str, str] = field(default_factory=dict)
    files_seen: int = 0
    files_composed: int = 0
    # Only with ``with_workloads``: every workload of the files read, whose texts are in
    # ``texts`` too (annotating one edits its file even when it holds no target).
    workloads: tuple[Workload, ...] = ()
    # Only when watching: copies of the watched images that no target covers, with why.
    occurrences: tuple[Occurrence, ...] = ()
    # Only with ``only_automated`` and ``watch_automated``: the targets left out for not being
    # automated, in the files that hold an automated one.
    others: tuple[Target, ...] = ()
    # Only with ``with_facts``: per file of ``texts`` that holds a target, what a rewrite of
    # that text needs (``rewrite_files(texts, updates, facts)`` then composes it only once).
    facts: Mapping[str, FileFacts] = field(default_factory=dict)


class _Scanned(NamedTuple):
    """One file read and scanned; what reading it found goes back with it."""

    relative: str
    text: str | None
    problems: tuple[Problem, ...]
    skipped: tuple[Problem, ...]
    scan: FileScan | None


def scan_tree(
    root: Path | TreeFiles,
    paths: Sequence[str] = (),
    *,
    only_automated: bool = False,
    with_workloads: bool = False,
    watch: Collection[str] = (),
    watch_automated: bool = False,
    max_bytes: int = MAX_FILE_BYTES,
    repository_urls: Callable[[], Sequence[str]] | None = None,
    with_facts: bool = False,
    map_files: FileMap | None = None,
) -> TreeScan:
    """Scan ``root`` (or only ``paths`` below it) for targets: a directory, or the files of a
    commit that was not checked out (``TreeFiles``).

    ``only_automated`` reads only files that mention automation and returns only automated
    targets: what a reconcile needs, and ~10x less YAML to compose in a typical repository.
    ``with_workloads`` also describes each file's workloads while its documents are composed
    (lint, annotate, release): one parse instead of two. No composed node outlives its file.
    ``watch`` (canonical repository names) also reads every file that may mention one of them
    and returns the copies no target covers (``occurrences``); ``watch_automated`` does so for
    the images automated in each file, in that file (``run``). ``repository_urls`` gives the
    URLs of the repository itself, asked only when an Argo CD Application with an
    ``image-list`` is found: the Applications whose source it is are updated in the files they
    point at (``argocd_writeback``). Without it (the workflow commands) Applications are not
    followed at all; with no URL, each one is reported as left alone. ``with_facts`` keeps,
    for each file with a target, what a rewrite of it needs (``facts``): no node, a few
    hundred bytes a file. ``map_files`` reads and scans the files (``serial_map`` when None):
    the CLI hands in one that shares them with a second process.
    """
    map_files = map_files or serial_map
    files = DirectoryFiles(root) if isinstance(root, Path) else root
    problems: list[Problem] = []
    skipped: list[Problem] = []
    scans: list[FileScan] = []
    texts: dict[str, str] = {}
    workloads: list[Workload] = []
    occurrences: list[Occurrence] = []
    also = _copy_screen(watch)

    read_and_scan = _ReadAndScan(
        max_bytes,
        only_automated,
        also,
        with_workloads,
        frozenset(watch),
        watch_automated,
        with_facts,
    )
    found = list(files.listing(paths, skipped, is_manifest_name))
    composed = 0
    for relative, text, read_problems, read_skipped, scan in map_files(read_and_scan, found):
        problems.extend(read_problems)
        skipped.extend(read_skipped)
        if text is None or scan is None:
            continue
        composed += 1
        if scan.skipped is not None:
            skipped.append(scan.skipped)
            occurrences.extend(scan.occurrences)
            continue
        scans.append(scan)
        problems.extend(scan.problems)
        workloads.extend(scan.workloads)
        if scan.targets or scan.marks or scan.workloads or scan.applications:
            texts[relative] = text
    marks = [mark for scan in scans for mark in scan.marks]
    objects = [found for scan in scans for found in scan.flux_objects]
    setter_targets, setter_problems = resolve_markers(marks, objects)
    problems.extend(setter_problems)
    targets = with_setters(scans, setter_targets)
    apps = [app for scan in scans for app in scan.applications]
    if apps and repository_urls is not None:
        targets = _with_applications(
            apps,
            targets,
            problems,
            texts,
            files=files,
            repository_urls=repository_urls,
            max_bytes=max_bytes,
        )
    occurrences.extend(o for scan in scans for o in scan.occurrences)
    others: list[Target] = []
    if only_automated:
        others = [target for target in targets if not target.automated]
        targets = [target for target in targets if target.automated]
    if watch_automated:
        automated = {(t.location.file, t.image.name) for t in targets if t.automated}
        occurrences = [o for o in occurrences if (o.location.file, o.name) in automated]
        others = [t for t in others if (t.location.file, t.image.name) in automated]
    # An Application's file is kept too: its annotations are part of what a cycle observed.
    kept = {t.location.file for t in targets} | {w.file for w in workloads}
    kept |= {app.file for scan in scans for app in scan.applications}
    return TreeScan(
        targets=tuple(sorted(targets, key=target_order)),
        problems=tuple(problems),
        skipped=tuple(skipped),
        texts={file: texts[file] for file in sorted(kept)},
        files_seen=len(found),
        files_composed=composed,
        workloads=tuple(workloads),
        occurrences=tuple(occurrences),
        others=tuple(others) if watch_automated else (),
        facts={s.file: s.facts for s in scans if s.facts is not None and s.file in kept},
    )


@record
class _ReadAndScan:
    """Read one file and scan it, as ``scan_tree`` was asked to."""

    max_bytes: int
    only_automated: bool
    also: re.Pattern[bytes] | None
    with_workloads: bool
    watch: frozenset[str]
    watch_own: bool
    with_facts: bool

    def __call__(self, found: tuple[str, FileRef]) -> _Scanned:
        relative, file = found
        problems: list[Problem] = []
        skipped: list[Problem] = []
        text = _read(
            file,
            relative,
            max_bytes=self.max_bytes,
            problems=problems,
            skipped=skipped,
            only_automated=self.only_automated,
            also=self.also,
        )
        scan = None
        if text is not None:
            scan = scan_file(
                text,
                relative,
                with_workloads=self.with_workloads,
                watch=self.watch,
                watch_own=self.watch_own,
                with_facts=self.with_facts,
            )
        return _Scanned(relative, text, tuple(problems), tuple(skipped), scan)


def _targets_under(files: TreeFiles, path: str, max_bytes: int) -> list[Target]:
    """Every target below ``path``, automated or not: the current tags of an Application's
    images, to start a new ``.argocd-source`` file from."""
    found: list[Target] = []
    for relative, _ in files.listing([path], [], is_manifest_name):
        text = files.read_text(relative, max_bytes)
        if text is not None:
            found.extend(scan_file(text, relative).targets)
    return sorted(found, key=target_order)


def _copy_screen(watch: Collection[str]) -> re.Pattern[bytes] | None:
    """Bytes a copy of a watched image must contain in a file with no image field (a
    ConfigMap's data): its last path component right before a tag, digest or placeholder
    (``app:1.0``, not the label ``app: web``). A bare name counts only under ``image:``."""
    if not watch:
        return None
    names = sorted({re.escape(name.rsplit("/", 1)[-1].encode()) for name in watch})
    return re.compile(b"(?:" + b"|".join(names) + rb")[:@][\w{$]")


def _read(
    file: FileRef,
    relative: str,
    *,
    max_bytes: int,
    problems: list[Problem],
    skipped: list[Problem],
    only_automated: bool,
    also: re.Pattern[bytes] | None = None,
) -> str | None:
    try:
        if file.size() > max_bytes:
            problems.append(Problem(f"skipped: larger than {max_bytes} bytes", relative))
            return None
        data = file.read_bytes()
    except OSError as error:
        problems.append(Problem(f"cannot read: {error.strerror or error}", relative))
        return None
    if not any(token in data for token in SCREEN_TOKENS) and not (also and also.search(data)):
        return None
    if only_automated and not any(token in data for token in AUTOMATION_TOKENS):
        return None
    try:
        return data.decode("utf-8")  # not utf-8-sig: a BOM stays in the text, to be kept
    except UnicodeDecodeError as error:
        skipped.append(
            Problem(f"skipped: not UTF-8 ({error.reason} at byte {error.start})", relative)
        )
        return None


def _with_applications(
    apps: list[ArgoApp],
    targets: list[Target],
    problems: list[Problem],
    texts: dict[str, str],
    *,
    files: TreeFiles,
    repository_urls: Callable[[], Sequence[str]],
    max_bytes: int,
) -> list[Target]:
    """``targets`` with the ones Argo CD Applications' image lists claim put in their place;
    their problems and files go into ``problems`` and ``texts``. Loaded only for a tree that
    has such Applications, not for every run."""
    from imagebot.manifest.argocd_values import current_tags
    from imagebot.manifest.argocd_writeback import resolve_applications

    resolved = resolve_applications(
        apps,
        lambda relative: files.read_text(relative, max_bytes),
        repository_urls,
        lambda path, image: current_tags(_targets_under(files, path, max_bytes)).get(image),
    )
    claimed = {(t.location.file, t.location.document, t.yaml_path) for t in resolved.targets}
    kept = [
        t for t in targets if (t.location.file, t.location.document, t.yaml_path) not in claimed
    ]
    problems.extend(resolved.problems)
    texts.update({f: resolved.texts[f] for f in {t.location.file for t in resolved.targets}})
    return [*kept, *resolved.targets]


def write_files(root: Path, new_texts: Mapping[str, str]) -> None:
    """Write each file (relative path -> text) by temp file + rename, byte for byte as given.

    All temp files are written before any rename, so a full disk leaves every file as it was.
    A path whose real location is outside ``root`` (through a symlink) is refused.
    """
    base, directories = root.resolve(), dict[str, Path]()
    staged: list[tuple[str, Path]] = []
    try:
        for relative, text in sorted(new_texts.items()):
            target = base / _in_tree(base, relative, directories)
            staged.append((_stage(target, text.encode("utf-8")), target))
        for temporary, target in staged:
            Path(temporary).replace(target)
    except OSError as error:
        raise ManifestError(f"cannot write {error.filename}: {error.strerror}") from error
    finally:
        for temporary, _ in staged:
            Path(temporary).unlink(missing_ok=True)


def paths_in_tree(root: Path, new_texts: Mapping[str, str]) -> dict[str, str]:
    """``new_texts`` keyed by where each file really is in ``root`` (symlinks resolved, as
    ``write_files`` writes them), ``/``-separated; a path leading outside is refused."""
    base, directories = root.resolve(), dict[str, Path]()
    return {
        _in_tree(base, relative, directories).as_posix(): text
        for relative, text in new_texts.items()
    }


def _in_tree(base: Path, relative: str, directories: dict[str, Path]) -> Path:
    """Where ``relative`` really is under ``base`` (resolved), as a path relative to it.

    Each directory is resolved once (``directories`` keeps them) and each file only when it is
    a link: resolving every path anew cost a quarter of a second for 800 files on a slow disk.
    """
    parent, _, name = relative.rpartition("/")
    real_parent = directories.get(parent)
    if real_parent is None:
        real_parent = directories[parent] = (base / parent).resolve()
    target = real_parent / name
    if target.is_symlink():
        target = target.resolve()
    if not target.is_relative_to(base):
        raise ManifestError(f"{relative}: leads outside the tree; not written")
    return target.relative_to(base)


def _stage(target: Path, data: bytes) -> str:
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            # No fsync: the tree is a Git work tree and the change is committed right after;
            # the rename alone keeps readers from ever seeing half a file.
            handle.write(data)
        if target.exists():
            Path(temporary).chmod(target.stat().st_mode & 0o7777)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return temporary
