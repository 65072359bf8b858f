"""Exit codes and error rendering shared by every subcommand.

The core raises ``ImagebotError``s; this module is the one place that maps them to exit codes
and prints them, so every command behaves alike. It also reads ``--repo``/``--path`` the one way
every command that reads a local tree does (``local_tree``); the options themselves are defined
once in ``imagebot.cli.options``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click

from imagebot.errors import ImagebotError, UsageError
from imagebot.redact import redact

EXIT_OK = 0
EXIT_TRANSIENT = 1  # registry, network or push retries exhausted: run again later
EXIT_USAGE = 2  # invalid input, policy or configuration, or any other permanent error
EXIT_PROBLEMS = 3  # --strict and problems were reported
EXIT_FINDINGS = 4  # ``lint`` found issues
EXIT_NO_MATCH = 5  # nothing matched: no automated image under --path, no target, no tag
# ``imagebot policy select`` keeps its own documented contract: 0 chosen, 1 none, 2 invalid.
EXIT_NONE_CHOSEN = 1

# Every command takes -h as well as --help, however it is reached: click caches a command's help
# option from the first context that asks, and a context inherits the names only from its parent.
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}

EXIT_CODES_HELP = """\b
Exit codes:
  0  done (with or without changes)
  1  a transient failure (network, registry, push): run again later
  2  usage, configuration or another permanent error: fix it first
  3  --strict, and problems were reported
  4  lint found issues
  5  nothing matched (--path holds no automated image, no target, no tag)
  policy select: 0 chosen, 1 none qualifies, 2 invalid"""
"""The table for ``imagebot --help`` (click keeps a ``\\b`` paragraph as written)."""


def seconds_between(
    low: float, high: float
) -> Callable[[click.Context, click.Parameter, str | None], float | None]:
    """A click callback reading a flag as a duration (``10``, ``500ms``, ``1m``) of ``low`` to
    ``high`` seconds: NaN, infinities, negatives and 400-digit numbers are usage errors, not a
    busy loop or an OverflowError later."""

    def parse(_ctx: click.Context, _param: click.Parameter, text: str | None) -> float | None:
        from imagebot.durations import parse_duration
        from imagebot.errors import ConfigError

        if text is None:
            return None
        try:
            seconds = parse_duration(text)
        except ConfigError as error:
            raise click.BadParameter(str(error)) from None
        if not low <= seconds <= high:
            raise click.BadParameter(f"{text!r}: give {low:g}s to {high:g}s")
        return seconds

    return parse


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
            return _directory(path, "--path", ctx.command_path), ()
    tree = _directory(repo, "--repo", ctx.command_path)
    check_paths(tree, relative, "--path")
    return tree, tuple(relative)


def check_paths(
    root: Path, paths: Sequence[str], flag: str, exists: Callable[[str], bool] | None = None
) -> None:
    """``UsageError`` naming ``flag`` for a path below ``root`` that does not exist: a typo must
    not read as "nothing to do" (exit 0). Run after the clone for a URL repository; ``exists``
    answers for a clone whose files are read from the commit (``Workspace.snapshot``)."""
    for path in paths:
        try:
            found = exists(path) if exists else (root / path).exists()
        except (OSError, ValueError) as error:  # ValueError: a NUL byte
            raise UsageError(f"{flag} {path!r}: cannot be looked at: {error}") from None
        if not found:
            raise UsageError(f"{flag} {path!r}: no such file or directory in the repository")


def nothing_matched(paths: Sequence[str]) -> NoReturn:
    """Exit ``EXIT_NO_MATCH`` saying that ``paths`` hold no automated image."""
    where = ", ".join(repr(p) for p in paths)
    fail(f"--path {where}: no automated image there; nothing to do", EXIT_NO_MATCH)


def _directory(text: str, flag: str, command: str) -> Path:
    """``path`` if it is a directory; else a UsageError that says why, in the user's spelling
    (``Path`` would print ``https://host/r.git`` as ``https:/host/r.git``)."""
    from imagebot.errors import ConfigError
    from imagebot.gitrepo.address import CloneUrl, parse_repo

    path = Path(text)
    if path.is_dir():
        return path
    try:
        url = isinstance(parse_repo(text), CloneUrl)
    except ConfigError:
        url = False
    if url or "://" in text:
        raise UsageError(
            f"{flag} {text!r} is a Git URL, but {command} reads a local directory: clone the "
            "repository and give the clone's path (only run and the commands that commit "
            "clone a URL)"
        )
    raise UsageError(f"{flag} {text!r} is not a local directory")
