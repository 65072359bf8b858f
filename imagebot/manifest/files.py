"""Where a scan reads a tree's files from: a directory on disk, or anything shaped like one.

``scan_tree`` lists and reads files only through ``TreeFiles``. ``DirectoryFiles`` is the work
tree on disk; the Git edge offers the same over a commit's objects (``gitrepo/snapshot.py``), so
that a fresh clone is scanned without writing its files out first. Both list the same files in
the same order and read the same bytes: a scan cannot tell them apart.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from imagebot.model import Problem

# Compared in lower case: `kubectl apply -f APP.YAML` and a Kustomization's `resources:` apply
# such a file. kustomize's own file names (kustomization.yaml, Kustomization) stay exact, as there.
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class FileRef(Protocol):
    """One listed file, not read yet: its size first, so an oversized one is never read.
    Both raise ``OSError`` when the file cannot be read."""

    def size(self) -> int: ...
    def read_bytes(self) -> bytes: ...


class TreeFiles(Protocol):
    """A tree's manifest files: listed in a stable order, read one at a time."""

    @property
    def root(self) -> Path: ...

    def listing(
        self, paths: Sequence[str], skipped: list[Problem], wanted: Callable[[str], bool]
    ) -> Iterator[tuple[str, FileRef]]:
        """``(relative POSIX path, file)`` once for each file below ``paths`` (the whole tree
        when empty) whose name is ``wanted``, and for each of ``paths`` that is a file itself;
        what cannot be read as a file goes to ``skipped``."""
        ...

    def read_text(self, relative: str, max_bytes: int) -> str | None:
        """The UTF-8 text of any file of the tree, or None when it is not a readable file of at
        most ``max_bytes`` inside the tree (the files an Argo CD Application points at)."""
        ...


def is_manifest_name(name: str) -> bool:
    """Whether the walk reads a file of this name: ``.yaml``, ``.yml`` or ``.json`` in any case,
    or kustomize's extension-less ``Kustomization``."""
    return name.lower().endswith(MANIFEST_SUFFIXES) or name == "Kustomization"


class _OnDisk(NamedTuple):
    path: Path

    def size(self) -> int:
        return self.path.stat().st_size

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


class DirectoryFiles:
    """The files of a directory (a work tree): ``.git`` is skipped, symlinks are followed only
    when they stay inside it, and FIFOs and sockets are never opened."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._base = root.resolve()

    @property
    def root(self) -> Path:
        return self._root

    def listing(
        self, paths: Sequence[str], skipped: list[Problem], wanted: Callable[[str], bool]
    ) -> Iterator[tuple[str, FileRef]]:
        base = self._base
        yielded: set[str] = set()
        for start in [base / p for p in paths] or [base]:
            real = start.resolve()
            if not real.is_relative_to(base):
                skipped.append(Problem("skipped: the path leads outside the tree", str(start)))
                continue
            candidates = [(real, False)] if real.is_file() else _walk(real, wanted)
            for found, is_link in candidates:
                relative = found.relative_to(base).as_posix()
                candidate = found
                if is_link:  # only links need resolving: the walk itself never leaves ``base``
                    candidate, why = _follow(found, base)
                    if why:
                        skipped.append(Problem(f"skipped: a symlink {why}", relative))
                        continue
                    relative = candidate.relative_to(base).as_posix()
                if relative not in yielded:
                    yielded.add(relative)
                    yield relative, _OnDisk(candidate)

    def read_text(self, relative: str, max_bytes: int) -> str | None:
        path = (self._base / relative).resolve()
        try:
            if not path.is_relative_to(self._base) or not path.is_file():
                return None
            if path.stat().st_size > max_bytes:
                return None
            return path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None


def _follow(link: Path, base: Path) -> tuple[Path, str]:
    """The file a symlink leads to, or why it is not one to read."""
    try:
        real = link.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a loop, on Python before 3.13
        return link, "that leads nowhere (broken or a loop)"
    if not real.is_relative_to(base):
        return link, "that leads outside the tree"
    if not real.is_file():
        return link, "to something that is not a file"
    return real, ""


def _walk(directory: Path, wanted: Callable[[str], bool]) -> Iterator[tuple[Path, bool]]:
    """Files of ``wanted`` names below ``directory`` and whether each is a symlink; ``.git``
    is skipped, and symlinked directories are not entered. In each directory its files come
    first, then its subdirectories, each by name (``gitrepo/snapshot.py`` keeps this order)."""
    pending = [directory]
    while pending:
        current = pending.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda entry: entry.name)
        except OSError:
            continue
        directories: list[Path] = []
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != ".git":
                    directories.append(Path(entry.path))
            elif wanted(entry.name):
                link = entry.is_symlink()
                if link or entry.is_file(follow_symlinks=False):  # not a FIFO, which would block
                    yield Path(entry.path), link
        pending.extend(reversed(directories))
