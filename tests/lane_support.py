"""The fast lane's rule, enforced: a test not marked ``rig`` starts no process and opens no socket.

``tests/conftest.py`` marks ``rig`` every test that uses one of ``RIG_FIXTURES``; tests that start
a process or a server on their own carry the mark themselves. Around the setup and call of every
other test, ``network_and_processes_refused`` makes process starts and network connections raise,
and fails the test even if the code under test caught the error, so a misclassified test fails
loudly in every run rather than quietly slowing the fast lane. AF_UNIX sockets stay allowed
(asyncio's event loop wakes itself up through a socket pair).

``examples(n)`` is the other half of the lane: property tests draw all their examples in the
full lane and a fifth of them in the fast one.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import pytest

RIG_FIXTURES = frozenset(
    {
        "registry",
        "basic_auth_registry",
        "token_auth_registry",
        "pusher",
        "app_image",
        "bare_remote",
        "http_git_server",
        "http_git_server_basic",
        "ssh_git_server",
        "proxies",  # loopback proxies in front of the rig's servers
        "api",  # the Kubernetes emulator (tests/kube_emulator.py), served on a loopback port
    }
)
"""Fixtures (in conftest.py, and ``api`` in the operator test modules) that start a server or a
process; using one, even through another fixture, puts a test in the rig lane."""

FAST_LANE_SHARE = 5
"""In the fast lane, property tests draw one in this many of their examples (the full lane, what
CI runs, draws them all): hypothesis would otherwise take more than half the fast lane's time."""
_lane = {"fast": False}

PROCESS_STARTS = ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system", "spawnv", "spawnve")
SOCKET_CALLS = ("connect", "connect_ex", "bind")


def choose_lane(markexpr: str) -> None:
    """Called once per run by conftest.py with ``-m``'s expression: ``not rig`` is the fast lane."""
    _lane["fast"] = "not rig" in markexpr


def examples(full: int) -> int:
    """``max_examples`` for a property test that draws ``full`` examples in the full lane."""
    return max(20, full // FAST_LANE_SHARE) if _lane["fast"] else full


class FastLaneViolation(RuntimeError):
    """A test outside the rig lane tried to start a process or open a network socket."""


@contextmanager
def network_and_processes_refused(item: pytest.Item) -> Iterator[None]:
    """Refuse process starts and non-AF_UNIX socket connects or binds while ``item`` runs,
    unless it is marked ``rig``; fail it if it tried."""
    if item.get_closest_marker("rig") is not None:
        yield
        return
    attempts: list[str] = []

    def refuse(what: str) -> NoReturn:
        attempts.append(what)
        raise FastLaneViolation(_message(item, what))

    with pytest.MonkeyPatch.context() as patch:
        for name in SOCKET_CALLS:
            patch.setattr(socket.socket, name, _guarded_socket_call(name, refuse))
        patch.setattr(subprocess.Popen, "_execute_child", _refused("start a subprocess", refuse))
        for name in PROCESS_STARTS:
            if hasattr(os, name):
                patch.setattr(os, name, _refused(f"call os.{name}", refuse))
        try:
            yield
        except BaseException:
            if attempts:
                pytest.fail(_message(item, attempts[0]), pytrace=False)
            raise
    if attempts:
        pytest.fail(_message(item, attempts[0]), pytrace=False)


def _message(item: pytest.Item, what: str) -> str:
    return (
        f"{item.nodeid} tried to {what}, but it is in the fast lane: give it a rig fixture "
        "or mark it @pytest.mark.rig (see docs/testing.md)"
    )


def _guarded_socket_call(name: str, refuse: Callable[[str], NoReturn]) -> Any:
    original = getattr(socket.socket, name)

    def call(sock: socket.socket, address: Any, *args: Any) -> Any:
        if sock.family != socket.AF_UNIX:
            refuse(f"{name} a socket to {address!r}")
        return original(sock, address, *args)

    return call


def _refused(what: str, refuse: Callable[[str], NoReturn]) -> Any:
    def call(*args: Any, **kwargs: Any) -> NoReturn:
        refuse(what)

    return call
