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


def exits(code: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], input=stdin, capture_output=True, text=True, check=False
    )


@pytest.mark.rig
def test_the_process_ends_with_its_status_output_and_exit_handlers() -> None:
    """Run as the process (no argv), ``main`` skips the interpreter's teardown (0.13 s of a run):
    what the command printed, the exit status and the ``atexit`` handlers must all survive."""
    done = exits(
        "import atexit, sys\n"
        "from imagebot.cli import main\n"
        "atexit.register(lambda: print('HANDLER RAN'))\n"
        "sys.argv = ['imagebot', 'policy', 'select', 'semver:~1']\n"
        "main()\n"
        "print('NOT REACHED')\n",
        "1.0\n2.0\n",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1.0", "HANDLER", "RAN"]
    refused = exits(
        "import sys\nfrom imagebot.cli import main\n"
        "sys.argv = ['imagebot', 'policy', 'select', 'nonsense:x']\nmain()\n",
        "1\n",
    )
    assert refused.returncode == 2 and "nonsense" in refused.stderr


@pytest.mark.rig
def test_a_thread_still_running_at_the_end_is_waited_for() -> None:
    done = exits(
        "import sys, threading, time\n"
        "from imagebot.cli import main\n"
        "threading.Thread(target=lambda: (time.sleep(0.3), print('THREAD DONE'))).start()\n"
        "sys.argv = ['imagebot', '--version']\n"
        "main()\n"
    )
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1] == "THREAD DONE"
