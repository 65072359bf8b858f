"""The one search for secrets in everything a test run left behind: output, logs, JSON, commit
messages, events, and Git data decompressed (every object, config, reflogs, packed refs).

Tests that hand imagebot a credential call ``assert_no_leaks`` with the secrets and whatever the
run produced; it fails naming each place a secret (or its Basic ``user:secret`` base64) shows.
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
) -> list[str]:
    """``where: secret`` for each secret found; an empty list when nothing leaked."""
    places: dict[str, bytes] = {}
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
) -> None:
    leaks = find_leaks(secrets, texts=texts, git_dirs=git_dirs)
    assert leaks == [], f"secrets leaked into: {leaks}"
