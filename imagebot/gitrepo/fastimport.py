"""The ``git fast-import`` stream of one commit: new file contents on top of a branch's head.

A commit made this way costs one git process and one pack, however many files change: no file
is written to the work tree, no loose object is made per file, and the index is not read. On a
slow disk, writing 1,000 manifests, ``git add`` and ``git commit`` took most of a run. Only the
cached clone of a URL commits this way (``Workspace.commit_texts``): its work tree is nobody's
and is reset by the next fetch, while a user's work tree keeps the ordinary ``git commit``.
Pure: writes the stream to the file it is given, runs nothing. Each file's bytes are made as it
is written, so a commit of many files never holds them all at once, nor the stream whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import BinaryIO

from imagebot.records import record

__all__ = ["FileChange", "cleanup_message", "write_commit"]

EXECUTABLE = "100755"
REGULAR = "100644"


@record
class FileChange:
    """A file's new text at ``path`` (relative, ``/``-separated), with git's file mode; the
    text is stored as UTF-8."""

    text: str
    mode: str = REGULAR


def write_commit(
    out: BinaryIO,
    *,
    branch: str,
    files: Mapping[str, FileChange],
    message: str,
    author: tuple[str, str],
) -> None:
    """Write to ``out`` one commit on ``refs/heads/<branch>`` whose parent is the branch's
    head now.

    Author and committer are ``author`` at the time fast-import reads the stream; the commit's
    id is printed on fast-import's standard output (``get-mark``). ``message`` is taken as
    given: clean it with ``cleanup_message`` first, as ``git commit`` would.
    """
    name, email = author
    ref = f"refs/heads/{branch}"
    identity = f"{name} <{email}> now\n".encode()
    text = message.encode("utf-8")
    out.write(f"commit {ref}\nmark :1\n".encode())
    out.write(b"author " + identity + b"committer " + identity)
    out.write(b"data %d\n" % len(text) + text + b"\n")
    # ^0: fast-import refuses a branch that starts from itself, but takes its commit.
    out.write(f"from {ref}^0\n".encode())
    for path in sorted(files):
        change = files[path]
        data = change.text.encode("utf-8")
        out.write(f"M {change.mode} inline ".encode() + _quoted(path) + b"\n")
        out.write(b"data %d\n" % len(data))
        out.write(data)
        out.write(b"\n")
    out.write(b"\nget-mark :1\ndone\n")


def cleanup_message(message: str) -> str:
    """``message`` as ``git commit --cleanup=whitespace`` stores it: trailing whitespace cut
    from each line, runs of blank lines made one, none at either end, one final newline
    ("" when nothing is left, which git refuses as an empty message)."""
    lines = [line.rstrip(" \t\r") for line in message.split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept) + "\n" if kept else ""


_UNSAFE = re.compile(rb'[\x00-\x1f"\\\x7f]')


def _quoted(path: str) -> bytes:
    """A path as a C-style quoted string: fast-import reads any byte of it that way, including
    a leading quote, a newline or a backslash that would end or change a bare path."""
    raw = path.encode("utf-8", "surrogateescape")
    return b'"' + _UNSAFE.sub(lambda m: b"\\%03o" % m.group()[0], raw) + b'"'
