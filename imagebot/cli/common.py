"""Exit codes and error rendering shared by every subcommand.

The core raises ``ImagebotError``s; this module is the one place that maps them to exit codes
and prints them, so every command behaves alike. It also holds the one ``--path`` option and
reads ``--repo``/``--path`` the one way every command that reads a local tree does
(``LOCAL_REPO``, ``local_tree``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click

from imagebot.errors import ImagebotError, UsageError
from imagebot.redact import redact

EXIT_OK = 0
EXIT_NOTHING = 1  # no tag qualifies / nothing matched / lint findings
EXIT_TRANSIENT = 1  # registry, network or push retries exhausted
EXIT_USAGE = 2  # invalid input, policy or configuration
EXIT_PROBLEMS = 3  # --strict and problems were reported

# ``--path`` filters in every command, whether ``--repo`` is a local tree or a URL to clone.
PATHS = click.option(
    "--path",
    "paths",
    multiple=True,
    help="Only look in these directories of --repo (repeatable).",
)
LOCAL_REPO = click.option(
    "--repo", default=".", show_default=True, help="The repository: a local directory."
)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``imagebot: error: MESSAGE`` to stderr and exit with ``code``."""
    sys.stderr.write(f"imagebot: error: {redact(message)}\n")
    sys.stderr.flush()
    raise SystemExit(code)


def exit_code_for(error: ImagebotError) -> int:
    """``EXIT_USAGE`` for what the user must fix first, ``EXIT_TRANSIENT`` for what may pass."""
    return EXIT_USAGE if error.permanent else EXIT_TRANSIENT


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn any ``ImagebotError`` raised inside into a one-line message and its exit code."""
    try:
        yield
    except ImagebotError as error:
        fail(str(error), exit_code_for(error))


def local_tree(ctx: click.Context, repo: str, paths: Sequence[str]) -> tuple[Path, tuple[str, ...]]:
    """The repository a local command reads (``list``, ``set-image``, ``lint``) and the
    subfolders ``--path`` keeps, relative to it: one grammar with ``run`` and the workflow
    commands, where ``--repo`` names the repository and ``--path`` filters (repeatable).

    A ``--path`` (relative, or absolute inside the repository) becomes relative to ``--repo``.
    For one release, a single ``--path`` outside the repository with no ``--repo`` is read as
    the repository, as ``list --path DIR`` did before, with a note on stderr. Raises
    UsageError for a repository that is not a local directory or a path outside it.
    """
    repo_given = ctx.get_parameter_source("repo") is not click.core.ParameterSource.DEFAULT
    root = Path(repo)
    base = root.resolve()
    relative = []
    for path in paths:
        candidate = Path(path) if Path(path).is_absolute() else root / path
        try:
            relative.append(candidate.resolve().relative_to(base).as_posix())
        except ValueError:
            if repo_given or len(paths) != 1:
                raise UsageError(f"--path {path!r} is outside --repo {repo!r}") from None
            sys.stderr.write(
                f"imagebot: note: --path {path!r} is outside the repository, so it is read as "
                f"the repository, as before; this goes away in the next release: write "
                f"--repo {path!r}\n"
            )
            return _directory(Path(path), "--path"), ()
    return _directory(root, "--repo"), tuple(relative)


def _directory(path: Path, flag: str) -> Path:
    if not path.is_dir():
        raise UsageError(f"{flag} {str(path)!r} is not a local directory")
    return path
