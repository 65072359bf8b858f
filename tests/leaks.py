"""The one search for secrets in everything a test run left behind: output, logs, JSON, commit
messages, events, and Git data decompressed (every object, config, reflogs, packed refs).

Tests that hand imagebot a credential call ``assert_no_leaks`` with the secrets and whatever the
run produced: captured stdout/stderr, ``caplog.text``, JSON, commit messages, posted events and
status (``texts``), the Git directories it touched (``git_dirs``, found with ``git_dirs_under``)
and, with ``trees``, every file under a directory. It fails naming each place a secret (or its
Basic ``user:secret`` base64, or a line of a private key) shows.
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path


def forms(secret: str, user: str | None = None) -> list[str]:
    """The secret and the encodings a server or a log could show of it."""
    found = [secret]
    if user is not None:
        found.append(base64.b64encode(f"{user}:{secret}".encode()).decode())
        found.append(f"{user}:{secret}")
    return found


def key_forms(private_key: Path) -> list[str]:
    """Lines of a private key file's body: any one of them showing means the key leaked."""
    lines = private_key.read_text().splitlines()
    return [line for line in lines if line and not line.startswith("-----")]


def git_dirs_under(*roots: Path) -> list[Path]:
    """Every Git directory at or below ``roots`` (bare repositories, ``.git`` of clones, the
    workspace cache's mirrors): where a run could have written a secret into Git data."""
    found: set[Path] = set()
    for root in roots:
        if not root.exists():
            continue
        candidates = [root, *(p.parent for p in root.rglob("HEAD"))]
        found.update(c for c in candidates if (c / "HEAD").is_file() and (c / "objects").is_dir())
    return sorted(found)


def files_under(*roots: Path) -> dict[str, bytes]:
    """Every file at or below ``roots`` as it is on disk (working trees, caches, config files);
    Git objects are compressed there, so pass the Git directories as ``git_dirs`` as well."""
    return {
        str(path): path.read_bytes()
        for root in roots
        if root.exists()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def git_texts(git_dir: Path) -> dict[str, bytes]:
    """Every file of a Git directory except raw objects, plus all objects decompressed."""
    texts: dict[str, bytes] = {}
    for path in sorted(git_dir.rglob("*")):
        if path.is_file() and "objects" not in path.relative_to(git_dir).parts[:1]:
            texts[str(path)] = path.read_bytes()
    dump = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "--batch-all-objects", "--batch"],
        capture_output=True,
        check=True,
    )
    texts[f"{git_dir} (all objects)"] = dump.stdout
    return texts


def find_leaks(
    secrets: Iterable[str],
    *,
    texts: Mapping[str, str | bytes] | None = None,
    git_dirs: Iterable[Path] = (),
    trees: Iterable[Path] = (),
) -> list[str]:
    """``where: secret`` for each secret found; an empty list when nothing leaked."""
    places: dict[str, bytes] = files_under(*trees)
    for where, text in (texts or {}).items():
        places[where] = text.encode() if isinstance(text, str) else text
    for git_dir in git_dirs:
        places.update(git_texts(git_dir))
    wanted = [s for s in secrets if s]
    assert wanted, "a leak search needs at least one secret"
    return [
        f"{where}: {secret[:4]}..."
        for where, data in places.items()
        for secret in wanted
        if secret.encode() in data
    ]


def assert_no_leaks(
    secrets: Iterable[str],
    *,
    texts: Mapping[str, str | bytes] | None = None,
    git_dirs: Iterable[Path] = (),
    trees: Iterable[Path] = (),
) -> None:
    leaks = find_leaks(secrets, texts=texts, git_dirs=git_dirs, trees=trees)
    assert leaks == [], f"secrets leaked into: {leaks}"
