"""The environment every benchmark runs imagebot in: its own cache and home in a scratch folder,
and nothing of the caller's Git set-up (a ``GIT_DIR`` or ``GIT_CONFIG_*`` from the shell would
change what git does and so what is measured)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def isolated_env(work: Path) -> dict[str, str]:
    """The caller's environment less its ``GIT_*`` variables, with cache and home under
    ``work``, git never prompting, and this checkout first on the Python path."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "PYTHONPATH": str(ROOT),
        "GIT_TERMINAL_PROMPT": "0",
        "XDG_CACHE_HOME": str(work / "cache"),
        "HOME": str(work / "home"),
    }
