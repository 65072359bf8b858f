"""A commit's files read from the object store, for a clone whose work tree was never written.

Writing out a fresh clone's files only for the scan to read them back was the largest part of
the clone (1,000 manifests: 0.1-0.4 s of creating files on a busy disk). ``CommitFiles`` lists
the commit with one ``git ls-tree`` and reads each blob through a ``git cat-file --batch`` of
the process that asks (a forked scan starts its own), in the order and with the sizes a walk of
the checked-out tree would give: the scan cannot tell it from ``manifest.files.DirectoryFiles``.

A commit holding a symlink is not offered this way (``has_links``): where a link leads is the
work tree's business, and the workspace writes that one out instead. Nothing here loads
GitPython: the scan starts before it is loaded.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, NamedTuple

from imagebot.errors import GitError
from imagebot.gitrepo.clone import git_environment
from imagebot.gitrepo.fastimport import EXECUTABLE, REGULAR
from imagebot.model import Problem

LINK = "120000"
_CHUNK = 1 << 16


class TreeEntry(NamedTuple):
    mode: str
    oid: str
    size: int  # -1 for a submodule's commit
    path: str


def parse_listing(data: bytes) -> list[TreeEntry]:
    """The entries of ``git ls-tree -r -l -z`` output: ``<mode> <type> <oid> <size>\\t<path>``,
    NUL-terminated. Paths are decoded as the file system would name them."""
    entries = []
    for record in data.split(b"\0"):
        if not record:
            continue
        meta, tab, raw_path = record.partition(b"\t")
        fields = meta.split()
        if not tab or len(fields) != 4:
            raise GitError(f"git ls-tree printed an entry it should not: {record[:80]!r}")
        mode, _, oid, size = (field.decode("ascii", "replace") for field in fields)
        entries.append(
            TreeEntry(mode, oid, int(size) if size.isdigit() else -1, os.fsdecode(raw_path))
        )
    return entries


def walk_order(path: str) -> tuple[tuple[int, str], ...]:
    """Sort key of the order a directory walk lists files in: in each directory its files by
    name, then its subdirectories by name (``manifest.files``' walk)."""
    *directories, name = path.split("/")
    return (*((1, part) for part in directories), (0, name))


def _name(path: str) -> str:
    return path.rpartition("/")[2]


def _checkout_path(path: str) -> bool:
    """Whether git would write ``path`` into a work tree at all (a hostile tree may hold others)."""
    return all(part not in ("", ".", "..") and part.lower() != ".git" for part in path.split("/"))


class _Blob(NamedTuple):
    files: CommitFiles
    oid: str
    length: int

    def size(self) -> int:
        return self.length

    def read_bytes(self) -> bytes:
        return self.files.blob(self.oid, self.length)


class CommitFiles:
    """The files of commit ``rev`` in the repository at ``root`` (``manifest.files.TreeFiles``),
    with the file modes a commit of new texts keeps."""

    def __init__(self, root: Path, entries: Sequence[TreeEntry], env: Mapping[str, str]) -> None:
        self._root = root
        self._base = root.resolve()
        self._env = env
        # Only what a checkout would write: a hostile tree may name ``..`` or ``.git``.
        files = (e for e in entries if e.mode in (REGULAR, EXECUTABLE) and _checkout_path(e.path))
        self._files = {e.path: e for e in files}
        self.has_links = any(e.mode == LINK for e in entries)
        self._reader: _BatchReader | None = None

    @classmethod
    def of(cls, root: Path, env: Mapping[str, str], rev: str = "HEAD") -> CommitFiles:
        try:
            out = _git(root, env, "list the files of " + rev, "ls-tree", "-r", "-l", "-z", rev)
        except GitError:
            unborn = _run(root, env, "rev-parse", "--verify", "--quiet", rev).returncode != 0
            if rev == "HEAD" and unborn:  # an empty repository's branch: no commit, no files
                return cls(root, (), env)
            raise
        return cls(root, parse_listing(out), env)

    @property
    def root(self) -> Path:
        return self._root

    def mode(self, path: str) -> str | None:
        """The mode of the regular file at ``path`` in the commit; None when there is none."""
        entry = self._files.get(path)
        return entry.mode if entry else None

    def listing(
        self, paths: Sequence[str], skipped: list[Problem], wanted: Callable[[str], bool]
    ) -> Iterator[tuple[str, _Blob]]:
        yielded: set[str] = set()
        for start in paths or [""]:
            inside = self._inside(start)
            if inside is None:
                skipped.append(
                    Problem("skipped: the path leads outside the tree", str(self._base / start))
                )
                continue
            if inside in self._files:
                chosen = [inside]
            else:
                prefix = "" if inside == "." else inside + "/"
                chosen = sorted(
                    (p for p in self._files if p.startswith(prefix) and wanted(_name(p))),
                    key=walk_order,
                )
            for path in chosen:
                if path not in yielded:
                    yielded.add(path)
                    entry = self._files[path]
                    yield path, _Blob(self, entry.oid, entry.size)

    def read_text(self, relative: str, max_bytes: int) -> str | None:
        inside = self._inside(relative)
        entry = self._files.get(inside) if inside else None
        if entry is None or entry.size > max_bytes:
            return None
        try:
            return self.blob(entry.oid, entry.size).decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def exists(self, path: str) -> bool:
        """Whether ``path`` names a file or directory of the commit (``settings.files``)."""
        if "\0" in path:
            raise ValueError("embedded null byte")  # as the file system says it
        inside = self._inside(path)
        if inside is None:
            return (self._root / path).exists()  # outside: the scan says so, as for a work tree
        prefix = inside + "/"
        found = inside == "." or inside in self._files
        return found or any(p.startswith(prefix) for p in self._files)

    def read_committed(self, name: str, limit: int) -> bytes | None:
        """``settings.files.ReadCommitted``: at most ``limit + 1`` bytes of the file ``name``."""
        entry = self._files.get(name)
        if entry is None:
            return None
        return self.blob(entry.oid, entry.size, keep=limit + 1)

    def blob(self, oid: str, size: int, *, keep: int | None = None) -> bytes:
        """The blob ``oid`` of ``size`` bytes (its first ``keep`` only); ``OSError`` when git
        cannot give it. Each process reads through its own ``cat-file``."""
        if self._reader is None or self._reader.pid != os.getpid():
            self._reader = _BatchReader(self._root, self._env)
        return self._reader.read(oid, size, keep)

    def close(self) -> None:
        if self._reader is not None and self._reader.pid == os.getpid():
            self._reader.close()
        self._reader = None

    def _inside(self, relative: str) -> str | None:
        """``relative`` as a path of the commit ("." for its top), or None outside it."""
        joined = posixpath.normpath(posixpath.join(self._base.as_posix(), relative))
        inside = posixpath.relpath(joined, self._base.as_posix())
        return None if inside == ".." or inside.startswith("../") else inside


class _BatchReader:
    """One ``git cat-file --batch``, asked for one blob at a time by the process that made it."""

    def __init__(self, root: Path, env: Mapping[str, str]) -> None:
        self.pid = os.getpid()
        self._process = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=root,
            env=git_environment(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def read(self, oid: str, size: int, keep: int | None) -> bytes:
        stdin, stdout = self._pipes()
        try:
            stdin.write(oid.encode("ascii") + b"\n")
            stdin.flush()
            header = stdout.readline().split()
        except OSError as error:
            raise OSError(f"git cat-file stopped: {error}") from error
        if len(header) != 3 or header[1] != b"blob" or header[2] != str(size).encode():
            raise OSError(f"git cat-file has no blob {oid} of {size} bytes")
        kept = stdout.read(min(size, keep if keep is not None else size))
        left = size - len(kept)
        while left > 0:  # the rest of a blob only its first bytes were wanted of
            chunk = stdout.read(min(left, _CHUNK))
            if not chunk:
                break
            left -= len(chunk)
        if stdout.read(1) != b"\n":
            raise OSError(f"git cat-file cut blob {oid} short")
        return kept

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        stdin, stdout = self._process.stdin, self._process.stdout
        if stdin is None or stdout is None or self._process.poll() is not None:
            raise OSError("git cat-file is not running")
        return stdin, stdout

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()


def _git(root: Path, env: Mapping[str, str], action: str, *args: str) -> bytes:
    """The output of a local git command; ``GitError`` naming ``action`` when it fails."""
    done = _run(root, env, *args)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"cannot {action} in {root}: {message[-1] if message else done.returncode}")
    return done.stdout


def _run(root: Path, env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", *args],
        cwd=root,
        env=git_environment(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
