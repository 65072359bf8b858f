"""Exit codes and error rendering shared by every subcommand.

The core raises ``ImagebotError``s; this module is the one place that maps them to exit codes
and prints them, so every command behaves alike.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from imagebot.errors import ImagebotError
from imagebot.redact import redact

EXIT_OK = 0
EXIT_NOTHING = 1  # no tag qualifies / nothing matched / lint findings
EXIT_TRANSIENT = 1  # registry, network or push retries exhausted
EXIT_USAGE = 2  # invalid input, policy or configuration
EXIT_PROBLEMS = 3  # --strict and problems were reported


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
