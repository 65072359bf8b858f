"""The two lanes: rig fixtures mark a test ``rig``, and an unmarked test that starts a process or
opens a network socket fails, even when the code under test swallows the refusal."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lane_support import choose_lane, examples, network_and_processes_refused


def test_a_test_without_rig_fixtures_is_in_the_fast_lane(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("rig") is None


def test_a_rig_fixture_puts_a_test_in_the_rig_lane(
    request: pytest.FixtureRequest, bare_remote: Callable[..., Path]
) -> None:
    assert request.node.get_closest_marker("rig") is not None


@pytest.mark.parametrize(
    "attempt",
    [
        pytest.param(lambda: subprocess.run(["true"], check=False), id="subprocess"),
        pytest.param(lambda: _on_tcp_socket("connect", ("127.0.0.1", 9)), id="tcp-connect"),
        pytest.param(lambda: _on_tcp_socket("bind", ("127.0.0.1", 0)), id="tcp-bind"),
    ],
)
def test_an_unmarked_test_may_not_reach_out(
    request: pytest.FixtureRequest, attempt: Callable[[], object]
) -> None:
    with (
        pytest.raises(pytest.fail.Exception, match=r"mark it @pytest\.mark\.rig"),
        network_and_processes_refused(request.node),
    ):
        attempt()


def test_a_swallowed_refusal_still_fails_the_test(request: pytest.FixtureRequest) -> None:
    with (
        pytest.raises(pytest.fail.Exception, match=r"tried to start a subprocess"),
        network_and_processes_refused(request.node),
        contextlib.suppress(Exception),  # as the code under test might
    ):
        subprocess.run(["true"], check=False)


def test_unix_sockets_stay_allowed(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    path = str(tmp_path / "s")
    with (
        network_and_processes_refused(request.node),
        socket.socket(socket.AF_UNIX) as server,
        socket.socket(socket.AF_UNIX) as client,
    ):
        server.bind(path)
        server.listen()
        client.connect(path)


def _on_tcp_socket(call: str, address: tuple[str, int]) -> None:
    with socket.socket(socket.AF_INET) as sock:
        getattr(sock, call)(address)


def test_property_tests_draw_a_fifth_of_their_examples_in_the_fast_lane(
    request: pytest.FixtureRequest,
) -> None:
    try:
        choose_lane("not rig")
        fast = examples(300), examples(50)
        choose_lane("")
        full = examples(300), examples(50)
    finally:
        choose_lane(request.config.getoption("markexpr") or "")

    assert fast == (60, 20)
    assert full == (300, 50)
