"""``imagebot run --interval``: a permanent error ends the loop with exit 2, a passing one backs
off (and the backoff resets after a good cycle), a registry failing for some images keeps pace.

Bug: in a folder that is not a Git repository, ``run --interval 5s`` repeated the same error
every 5 s forever. The clock and sleep are injected: nothing here really waits.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from imagebot.cli import cli
from imagebot.cli.common import EXIT_NO_MATCH, EXIT_OK, EXIT_TRANSIENT, EXIT_USAGE
from imagebot.cli.run_cmd import (
    BACKOFF_JITTER,
    MAX_BACKOFF_SECONDS,
    Cycle,
    backoff,
    poll,
)


class Stop(Exception):
    """Ends a loop that would otherwise run forever, once the test has seen enough."""


class Clock:
    """A clock that moves only when the loop sleeps; it records every sleep."""

    def __init__(self, limit: int = 20) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.limit = limit

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds
        if len(self.sleeps) >= self.limit:
            raise Stop


def options(**overrides: Any) -> dict[str, Any]:
    """The options ``run`` passes to ``poll``, with ``--interval 60s``."""
    base: dict[str, Any] = {
        "repo": ".",
        "branch": None,
        "paths": (),
        "dry_run": True,
        "no_push": False,
        "push_branch": None,
        "config_file": None,
        "interval": 60.0,
        "allow_downgrade": False,
        "author_name": None,
        "author_email": None,
        "strict": False,
        "output": "text",
    }
    return {**base, **overrides}


def scripted(*outcomes: Cycle) -> Any:
    """A cycle function that plays ``outcomes`` in turn (the last one forever)."""
    played: Iterator[Cycle] = iter(outcomes)
    last = [outcomes[-1]]

    def cycle(_options: Mapping[str, Any], _clients: object) -> Cycle:
        last[0] = next(played, last[0])
        return last[0]

    return cycle


def run_loop(clock: Clock, *outcomes: Cycle, jitter: float = 0.0) -> int | None:
    try:
        return poll(
            options(),
            sleep=clock.sleep,
            clock=clock,
            jitter=lambda: jitter,
            cycle=scripted(*outcomes),
        )
    except Stop:
        return None


@pytest.mark.timeout(30)
def test_a_permanent_error_ends_the_loop_with_exit_2_and_never_sleeps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = Clock()
    assert run_loop(clock, Cycle(EXIT_OK), Cycle(EXIT_USAGE)) == EXIT_USAGE
    assert clock.sleeps == [60.0]  # after the good cycle only
    assert "stopping the --interval loop" in capsys.readouterr().err


@pytest.mark.timeout(30)
def test_an_error_in_the_checked_out_tree_keeps_the_loop_waiting_for_a_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bad ``imagebot.yaml`` in the repository is fixed by a commit, not by a restart."""
    clock = Clock(limit=3)
    assert run_loop(clock, Cycle(EXIT_USAGE, in_tree=True)) is None
    assert clock.sleeps == [60.0] * 3
    assert "waiting for a commit that fixes this" in capsys.readouterr().err


@pytest.mark.timeout(30)
def test_transient_failures_back_off_exponentially_up_to_the_cap() -> None:
    clock = Clock(limit=8)
    assert run_loop(clock, Cycle(EXIT_TRANSIENT, failed=True)) is None
    assert clock.sleeps == [60.0, 120.0, 240.0, 480.0, 600.0, 600.0, 600.0, 600.0]


@pytest.mark.timeout(30)
def test_a_good_cycle_resets_the_backoff() -> None:
    clock = Clock(limit=5)
    failed, good = Cycle(EXIT_TRANSIENT, failed=True), Cycle(EXIT_OK)
    assert run_loop(clock, failed, failed, failed, good, failed) is None
    assert clock.sleeps == [60.0, 120.0, 240.0, 60.0, 60.0]


@pytest.mark.timeout(30)
def test_a_registry_failing_for_some_images_keeps_the_loop_at_its_pace() -> None:
    """One image's registry is that image's problem: the cycle got through, no backoff."""
    clock = Clock(limit=4)
    assert run_loop(clock, Cycle(EXIT_TRANSIENT)) is None
    assert clock.sleeps == [60.0] * 4


@pytest.mark.timeout(30)
def test_nothing_matched_keeps_polling_for_a_commit_that_adds_images() -> None:
    clock = Clock(limit=3)
    assert run_loop(clock, Cycle(EXIT_NO_MATCH)) is None
    assert clock.sleeps == [60.0] * 3


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "outcome",
    [Cycle(EXIT_OK), Cycle(EXIT_TRANSIENT, failed=True), Cycle(EXIT_NO_MATCH)],
    ids=["after-a-good-cycle", "while-backing-off", "after-nothing-matched"],
)
def test_sigterm_ends_the_loop_after_its_cycle_with_exit_0(outcome: Cycle) -> None:
    """Bug: SIGTERM (Kubernetes, systemd, CI stopping the loop) killed ``run --interval`` on the
    signal (exit -15) without closing its registry clients. Now the cycle under way finishes and
    the loop exits 0; the stop wakes the sleep (``Event.wait`` in ``run``)."""
    clock = Clock()
    seen: list[int] = []

    def cycle(_options: Mapping[str, Any], _clients: object) -> Cycle:
        seen.append(len(clock.sleeps))
        return outcome

    code = poll(
        options(),
        sleep=clock.sleep,
        clock=clock,
        jitter=lambda: 0.0,
        cycle=cycle,
        stopped=lambda: len(clock.sleeps) >= 2,  # SIGTERM arrives during the second sleep
    )
    assert code == EXIT_OK
    assert seen == [0, 1] and len(clock.sleeps) == 2


@pytest.mark.timeout(30)
def test_jitter_takes_off_at_most_its_share_of_the_backoff() -> None:
    clock = Clock(limit=2)
    run_loop(clock, Cycle(EXIT_TRANSIENT, failed=True), jitter=0.999)
    assert clock.sleeps[0] == pytest.approx(60.0 * (1 - BACKOFF_JITTER * 0.999))


@settings(max_examples=200, deadline=None)
@given(
    interval=st.floats(min_value=1.0, max_value=366 * 86400.0),
    failures=st.integers(min_value=1, max_value=10_000),
    jitter=st.floats(min_value=0.0, max_value=0.999999),
)
def test_backoff_is_finite_bounded_and_grows_with_failures(
    interval: float, failures: int, jitter: float
) -> None:
    cap = max(interval, MAX_BACKOFF_SECONDS)
    wait = backoff(interval, failures, jitter)
    assert (1 - BACKOFF_JITTER) * min(interval, cap) <= wait <= cap
    assert backoff(interval, failures + 1, 0.0) >= backoff(interval, failures, 0.0)


@pytest.mark.timeout(30)
def test_one_shot_run_returns_the_cycles_code_without_sleeping() -> None:
    clock = Clock()
    code = poll(
        options(interval=None),
        sleep=clock.sleep,
        clock=clock,
        cycle=scripted(Cycle(EXIT_TRANSIENT, failed=True)),
    )
    assert (code, clock.sleeps) == (EXIT_TRANSIENT, [])


@pytest.mark.timeout(60)
def test_a_bad_config_file_ends_the_interval_loop_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "imagebot.yaml"
    config.write_text("registries:\n  timeoutSeconds: .nan\n")
    clock = Clock(limit=3)
    try:
        code = poll(options(config_file=str(config)), sleep=clock.sleep, clock=clock)
    except Stop:
        code = None
    assert (code, clock.sleeps) == (EXIT_USAGE, [])


@pytest.mark.timeout(60)
@pytest.mark.rig
def test_a_bad_imagebot_yaml_in_the_repository_keeps_the_interval_loop_polling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "imagebot.yaml").write_text("allowDowngrade: maybe\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "bad settings"], check=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    clock = Clock(limit=2)
    try:
        code = poll(options(repo=str(repo)), sleep=clock.sleep, clock=clock)
    except Stop:
        code = None
    err = capsys.readouterr().err
    assert (code, clock.sleeps) == (None, [60.0, 60.0]), err
    assert err.count("imagebot.yaml") >= 2 and "waiting for a commit that fixes this" in err


@pytest.mark.timeout(60)
@pytest.mark.rig
def test_a_folder_that_is_not_a_git_repository_ends_the_interval_loop_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    clock = Clock(limit=3)
    try:
        code = poll(options(repo=str(tmp_path)), sleep=clock.sleep, clock=clock)
    except Stop:
        code = None
    err = capsys.readouterr().err
    assert (code, clock.sleeps) == (EXIT_USAGE, []), err
    assert err.count("not inside a Git repository") == 1


@pytest.mark.timeout(60)
def test_interval_flag_values_out_of_range_are_usage_errors() -> None:
    for value in ("0s", "-5s", "nan", "inf", "9" * 400, "9999999h", "5x", "1ns", "0.5s", "90"):
        result = CliRunner().invoke(cli, ["run", "--interval", value, "--dry-run"])
        assert result.exit_code == 2, (value, result.output)
        assert "--interval" in result.output


def test_interval_flag_takes_what_the_spec_takes() -> None:
    from imagebot.cli.run_cmd import parse_interval

    read = [parse_interval(None, None, t) for t in ("1s", "90s", "1h30m", "8784h")]  # type: ignore[arg-type]
    assert read == [1.0, 90.0, 5400.0, 366 * 86400.0]


@pytest.mark.timeout(120)
@pytest.mark.rig
def test_a_git_host_that_refuses_connections_is_retried_with_growing_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    clock = Clock(limit=3)
    gone = options(repo="http://127.0.0.1:1/gone.git")  # port 1: connection refused
    with pytest.raises(Stop):  # a passing fault never ends the loop by itself
        poll(gone, sleep=clock.sleep, clock=clock, jitter=lambda: 0.0)
    assert clock.sleeps == [60.0, 120.0, 240.0]


@pytest.mark.timeout(120)
@pytest.mark.rig
def test_a_repository_that_does_not_exist_ends_the_interval_loop_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    clock = Clock(limit=3)
    missing = (tmp_path / "missing.git").as_uri()
    assert poll(options(repo=missing), sleep=clock.sleep, clock=clock) == EXIT_USAGE
    assert clock.sleeps == []
