"""The command line's shell: version, and help that imports nothing heavy.

The start-up time itself is measured by bench/startup.py, not asserted here.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from imagebot import __version__
from imagebot.cli import cli


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def python_prints(code: str) -> str:
    """What ``code`` prints in a fresh interpreter: which modules it loaded is its own."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout


@pytest.mark.rig
def test_help_lists_commands_without_importing_heavy_modules() -> None:
    out = python_prints(
        "import sys\n"
        "from imagebot.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('kopf', 'kubernetes', 'git', 'requests')\n"
        "         if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    assert "Usage: imagebot" in out
    assert "HEAVY []" in out


@pytest.mark.rig
def test_the_scan_path_loads_neither_the_http_stack_nor_gitpython() -> None:
    """``imagebot run`` forks its scan before loading requests and GitPython (``ForkedMap``'s
    ``meanwhile``), and opens a fresh clone without GitPython: the run path's modules, a
    workspace's and the registry package's answers must not import them."""
    out = python_prints(
        "import sys\n"
        "import imagebot.reconcile.run, imagebot.gitrepo.checkout, imagebot.registry\n"
        "print('LOADED', [m for m in ('git', 'requests', 'urllib3') if m in sys.modules])\n"
    )
    assert "LOADED []" in out
