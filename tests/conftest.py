"""Shared pytest fixtures: the real servers of tests/rig/, started once per session when asked for,
and the two lanes of the suite.

Session-scoped servers are lazy (nothing starts until a test needs it) and are stopped by their
fixture's teardown, with atexit in tests/rig/procs.py as the backstop. A missing binary fails the
test with the Debian package to install; nothing is skipped silently.

Lanes: a test that uses a rig fixture is marked ``rig`` at collection; a test that starts a process
or a server some other way says ``@pytest.mark.rig`` itself. ``-m "not rig"`` (``scripts/test
--fast``) runs the rest, and those are held to it: in every run, a test without the mark that
starts a process or opens a network socket fails (tests/lane_support.py).
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

from tests.lane_support import RIG_FIXTURES, choose_lane, network_and_processes_refused
from tests.rig.git import (
    GitHttpServer,
    SshGitServer,
    make_bare_repo,
    start_git_http_server,
    start_ssh_git_server,
)
from tests.rig.images import ImagePusher
from tests.rig.procs import RigError
from tests.rig.proxy import Proxy
from tests.rig.registry import Auth, RegistryServer, start_registry
from tests.run_support import T0

if TYPE_CHECKING:
    from imagebot.gitrepo import Workspace

T = TypeVar("T")
_repo_counter = itertools.count(1)
_startup_seconds: dict[str, float] = {}  # server -> start-up time, shown after the run


def _launch(label: str, start: Callable[[], T]) -> T:
    """Start a rig server, timing it; a missing binary or failed start fails the test."""
    began = time.perf_counter()
    try:
        server = start()
    except RigError as e:
        pytest.fail(str(e), pytrace=False)
    _startup_seconds[label] = time.perf_counter() - began
    return server


def _start(tmp_path_factory: pytest.TempPathFactory, auth: Auth) -> RegistryServer:
    where = tmp_path_factory.mktemp(f"registry-{auth or 'plain'}")
    return _launch(f"registry ({auth or 'plain'})", lambda: start_registry(where, auth=auth))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "rig: needs a real server, a network socket or a child process; left out of the fast lane"
        " (`-m 'not rig'`). Added automatically to tests that use a rig fixture.",
    )
    choose_lane(config.getoption("markexpr") or "")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``rig`` every test whose fixtures (direct or through other fixtures) start servers."""
    for item in items:
        if RIG_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.rig)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Fixtures of an unmarked test may not start processes or connect either."""
    with network_and_processes_refused(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """An unmarked test that tries to start a process or open a socket fails, even if the code
    under test caught the refusal."""
    with network_and_processes_refused(item):
        return (yield)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line saying how long the rig took to start, so slow start-ups get noticed."""
    if _startup_seconds:
        parts = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in _startup_seconds.items())
        total = sum(_startup_seconds.values())
        terminalreporter.write_line(f"rig start-up: {total:.2f} s in all ({parts})")


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A plain-HTTP registry without auth, shared by the whole session."""
    server = _start(tmp_path_factory, None)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def basic_auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry behind htpasswd Basic auth; `.username` / `.password` get in."""
    server = _start(tmp_path_factory, "basic")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def token_auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry with Docker-style token auth; anonymous pull works except under `private/`."""
    server = _start(tmp_path_factory, "token")
    yield server
    server.stop()


@pytest.fixture
def pusher(registry: RegistryServer) -> Iterator[ImagePusher]:
    """An ImagePusher for the plain `registry`."""
    images = ImagePusher(registry)
    yield images
    images.close()


@pytest.fixture
def unique_repo(request: pytest.FixtureRequest) -> str:
    """A repository name no other test uses (the registries live for the whole session)."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:48].strip("-")
    return f"rig/{slug or 'test'}-{next(_repo_counter)}"


@pytest.fixture
def bare_remote(tmp_path: Path) -> Callable[..., Path]:
    """Factory: `bare_remote({"path": b"content"}, branch="main")` -> bare repo (for file://)."""
    names = itertools.count(1)

    def make(files: dict[str, bytes] | None = None, *, branch: str = "main") -> Path:
        path = tmp_path / f"remote-{next(names)}.git"
        return make_bare_repo(path, files or {"README.md": b"rig\n"}, branch=branch)

    return make


@pytest.fixture(scope="session")
def http_git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHttpServer]:
    """Smart-HTTP Git (`git http-backend`) without auth; add repos with `.make_repo(...)`."""
    where = tmp_path_factory.mktemp("git-http")
    server = _launch("git http", lambda: start_git_http_server(where))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def http_git_server_basic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHttpServer]:
    """Smart-HTTP Git behind Basic auth (`.username` / `.password`)."""
    where = tmp_path_factory.mktemp("git-http-basic")
    server = _launch("git http (basic)", lambda: start_git_http_server(where, basic_auth=True))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ssh_git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshGitServer]:
    """Git over SSH (`sshd -D`, key-only); clients need `.env` (GIT_SSH_COMMAND)."""
    where = tmp_path_factory.mktemp("git-ssh")
    server = _launch("sshd", lambda: start_ssh_git_server(where))
    yield server
    server.stop()


@pytest.fixture
def flask_repo(unique_repo: str) -> str:
    """A fresh Docker Hub style repository name (``demo/...``) for the seed's flask image."""
    return f"demo/{unique_repo.replace('/', '-')}"


@pytest.fixture
def app_image(registry: RegistryServer, pusher: ImagePusher, unique_repo: str) -> str:
    """``HOST/REPO:1.0.0`` in the plain `registry`, whose repository also has 1.1.0, newer."""
    pusher.push_tags(unique_repo, {"1.0.0": T0, "1.1.0": T0 + timedelta(hours=1)})
    return f"{registry.host}/{unique_repo}:1.0.0"


@pytest.fixture
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user or system git config, token or cache of the machine leaks into a test."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("IMAGEBOT_GIT_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def open_workspace(tmp_path: Path) -> Iterator[Callable[..., Workspace]]:
    """Factory: open a ``Workspace`` on a cache in tmp_path; all are closed after the test."""
    from imagebot.config import GitSettings
    from imagebot.gitrepo import Workspace

    opened: list[Workspace] = []

    def open_(repo: Path | str, *, objects_only: bool = False, **options: object) -> Workspace:
        url = repo.as_uri() if isinstance(repo, Path) else repo
        settings = GitSettings(repo=url, **options)  # type: ignore[arg-type]
        workspace = Workspace.open(
            settings, cache_root=tmp_path / "cache", objects_only=objects_only
        )
        opened.append(workspace)
        return workspace

    yield open_
    for workspace in opened:
        workspace.close()


@pytest.fixture
def proxies() -> Iterator[list[Proxy]]:
    """Loopback proxies a test starts (``tests.rig.proxy.start_proxy``) and appends here; each is
    stopped when the test ends."""
    started: list[Proxy] = []
    yield started
    for proxy in started:
        proxy.stop()
