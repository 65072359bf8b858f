"""Install imagebot as a user would, with nothing of ours but the source tree (issue 15's test).

An unprivileged user (``nobody``, through ``runuser``) with a home of its own makes a fresh venv
with ``python3 -m venv``, runs ``pip install`` on a copy of the source tree, and uses the
``imagebot`` it got: ``--help``, ``--version``, ``install`` (deploy/ ships as package data),
``list --repo`` and ``run --dry-run`` on a local
repository holding the seed example, whose images live in the rig's registry. No repository
script runs, nothing runs as root after the set-up, no apt. pip may not reach the package index
(``--no-index``): it takes the build backend and every dependency from a wheelhouse that the
fixture builds once, as root, with the test venv's index access (``pip wheel``), cached under
``$XDG_CACHE_HOME/imagebot/wheelhouse/`` next to scripts/build-image's base image.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.controller_support import push_seed_images, seed_manifest
from tests.rig import ImagePusher, RegistryServer
from tests.rig.bare import IDENTITY
from tests.rig.git import git_env, run_git

pytestmark = [pytest.mark.slow, pytest.mark.rig]

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "imagebot-gitops"
USER = "nobody"
# What a clone would not have: build output, caches, the developer's venv.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
)
KEEP_WHEELHOUSES = 3


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    """Wheels of the build backend and of every runtime dependency (not of imagebot itself: the
    user builds that from the source). Keyed by those requirements and this Python, so a change
    to the sources reuses it; the newest few are kept."""
    pyproject = _pyproject()
    build: list[str] = pyproject["build-system"]["requires"]  # type: ignore[index]
    runtime: list[str] = pyproject["project"]["dependencies"]  # type: ignore[index]
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    key = hashlib.sha256(
        json.dumps([build, runtime, python, platform.machine()]).encode()
    ).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "imagebot"
    house = cache / "wheelhouse" / key
    started = time.monotonic()
    if not (house / ".complete").exists():
        part = house.with_name(f"{key}.part")
        shutil.rmtree(part, ignore_errors=True)
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check"),
                *("--wheel-dir", str(part), *build, *runtime),
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert proc.returncode == 0, f"pip wheel -> {proc.returncode}\n{proc.stderr}"
        (part / ".complete").touch()
        shutil.rmtree(house, ignore_errors=True)
        part.rename(house)
    houses = sorted(house.parent.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in houses[KEEP_WHEELHOUSES:]:
        if old != house:
            shutil.rmtree(old, ignore_errors=True)
    print(f"wheelhouse: {time.monotonic() - started:.1f} s ({house})")
    return house


@dataclass
class User:
    """An unprivileged account and a scratch directory that it owns: ``home`` is its HOME."""

    name: str
    base: Path

    @property
    def home(self) -> Path:
        return self.base / "home"

    def own(self) -> None:
        """Hand everything under ``base`` to the user."""
        account = pwd.getpwnam(self.name)
        for path in [self.base, *self.base.rglob("*")]:
            os.lchown(path, account.pw_uid, account.pw_gid)

    def run(
        self, *command: str | Path, timeout: float = 120, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``command`` as the user, in a clean environment: nothing of root's (pip's settings,
        caches, PATH) leaks in; pip reads no configuration file."""
        environment = {
            "HOME": str(self.home),
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
            "GIT_TERMINAL_PROMPT": "0",
        }
        argv: Sequence[str] = [
            "runuser",
            "-u",
            self.name,
            "--",
            "env",
            "-i",
            *(f"{k}={v}" for k, v in environment.items()),
            *map(str, command),
        ]
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd or self.home,
            check=False,
        )


@pytest.fixture
def user() -> Iterator[User]:
    if os.geteuid() != 0:
        pytest.skip("installing as another user needs root to switch to it (runuser); CI is root")
    if not shutil.which("runuser"):
        pytest.fail("runuser is missing: install the Debian package util-linux")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        pytest.fail(f"no user {USER!r} on this machine to install as")
    # Under /tmp itself: pytest's and CI's temporary directories are root's, mode 0700.
    base = Path(tempfile.mkdtemp(prefix="imagebot-install-", dir="/tmp"))
    base.chmod(0o755)
    (base / "home").mkdir()
    yield User(USER, base)
    shutil.rmtree(base)


def user_python(user: User) -> str:
    """The user's ``python3``: on its PATH, the same X.Y as the wheelhouse's wheels."""
    found = user.run("python3", "-c", "import sys; print(sys.executable, *sys.version_info[:2])")
    assert found.returncode == 0, f"no python3 for {user.name}: {found.stderr}"
    executable, major, minor = found.stdout.split()
    assert (int(major), int(minor)) == sys.version_info[:2], (
        f"{executable} is {major}.{minor}; the wheelhouse is built for "
        f"{sys.version_info.major}.{sys.version_info.minor}"
    )
    return executable


def seed_repository(where: Path, registry: RegistryServer, repo: str) -> Path:
    """A local Git repository with the seed deployment, its images in the rig registry."""
    run_git("init", "--quiet", "--initial-branch=main", str(where))
    (where / "deployment.yaml").write_bytes(seed_manifest(registry.host, repo))
    env = git_env(**IDENTITY)
    run_git("-C", str(where), "add", "deployment.yaml", env=env)
    run_git("-C", str(where), "commit", "--quiet", "-m", "Seed", env=env)
    return where


def test_an_unprivileged_user_installs_imagebot_from_the_source_and_runs_it(
    wheelhouse: Path,
    user: User,
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
) -> None:
    source = user.base / "imagebot"
    shutil.copytree(ROOT, source, ignore=NOT_IN_A_CLONE, symlinks=True)
    wheels = user.base / "wheels"
    shutil.copytree(wheelhouse, wheels)
    push_seed_images(pusher, unique_repo)  # develop-v1.8.0 in the seed, develop-v1.9.0 newer
    gitops = seed_repository(user.base / "gitops", registry, unique_repo)
    seeded = (gitops / "deployment.yaml").read_bytes()
    head = run_git("-C", str(gitops), "rev-parse", "HEAD")
    user.own()

    python = user_python(user)
    venv = user.home / "venv"
    started = time.monotonic()
    made = user.run(python, "-m", "venv", venv)
    assert made.returncode == 0, made.stderr
    installed = user.run(
        venv / "bin" / "pip",
        "install",
        "--no-index",
        "--find-links",
        wheels,
        source,
        timeout=600,
    )
    elapsed = time.monotonic() - started
    assert installed.returncode == 0, installed.stdout + installed.stderr
    print(f"venv + pip install as {user.name}: {elapsed:.1f} s")
    assert (venv / "bin" / "imagebot").stat().st_uid == pwd.getpwnam(user.name).pw_uid

    imagebot = venv / "bin" / "imagebot"
    shown = user.run(imagebot, "--help")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Usage: imagebot")
    assert "Exit codes:" in shown.stdout

    version = user.run(imagebot, "--version")
    metadata = user.run(
        venv / "bin" / "python",
        "-c",
        f"import importlib.metadata as m; print(m.version({DISTRIBUTION!r}))",
    )
    assert version.returncode == 0 and metadata.returncode == 0, version.stderr + metadata.stderr
    assert version.stdout.split()[-1] == metadata.stdout.strip()

    listed = user.run(imagebot, "list", "--repo", gitops)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert f"{registry.host}/{unique_repo}/flaskapp:develop-v1.8.0" in listed.stdout
    assert "glob:develop-v*" in listed.stdout

    dry = user.run(imagebot, "run", "--repo", gitops, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "develop-v1.9.0" in dry.stdout
    assert f"+        image: {registry.host}/{unique_repo}/flaskapp:develop-v1.9.0" in dry.stdout
    # A dry run writes nothing: the file and the branch are as they were.
    assert (gitops / "deployment.yaml").read_bytes() == seeded
    assert user.run("git", "-C", gitops, "rev-parse", "HEAD").stdout == head

    # deploy/ came along as package data: `imagebot install` writes deploy/base byte for byte.
    written = user.base / "install"
    made = user.run(
        imagebot, "install", "--git-url", "https://example.org/gitops.git", "-o", written
    )
    assert made.returncode == 0, made.stdout + made.stderr
    for shipped in (ROOT / "deploy" / "base").iterdir():
        assert (written / "base" / shipped.name).read_bytes() == shipped.read_bytes()
