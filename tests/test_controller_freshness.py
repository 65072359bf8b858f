"""What a cycle takes from the shared registry answers, by what asked for it (pure).

A timer or creation cycle takes answers younger than its interval; a webhook's request names the
repositories to list afresh and nothing else; a request written by hand lists everything afresh
(as of its time when it is one, else now);
a request time in the future counts as now, or every cycle would list again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from imagebot.controller.freshness import cycle_freshness, request_value

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BEGAN = NOW - timedelta(seconds=2)
REPO = "registry.example/team/app"


def clock() -> datetime:
    return NOW


def test_a_timer_cycle_takes_answers_younger_than_its_interval() -> None:
    fresh = cycle_freshness(300, None, clock, BEGAN)
    now = NOW.timestamp()
    assert fresh.started == BEGAN.timestamp()
    assert fresh.accepts(REPO, now - 299, now)
    assert not fresh.accepts(REPO, now - 300, now)


def test_a_webhook_request_lists_afresh_only_the_repositories_it_names() -> None:
    at = NOW - timedelta(seconds=5)
    value = request_value(at, [REPO, REPO])
    assert value == f"{at.isoformat()} {REPO}"
    fresh = cycle_freshness(300, value, clock, BEGAN)
    now, asked = NOW.timestamp(), at.timestamp()
    assert not fresh.accepts(REPO, asked - 1, now)
    assert fresh.accepts(REPO, asked, now)
    assert fresh.accepts("registry.example/team/other", asked - 60, now)


def test_a_hand_written_request_lists_everything_afresh_as_of_its_time_or_now() -> None:
    written = NOW - timedelta(seconds=30)
    for value, since in (("now", NOW), ("yes please", NOW), (written.isoformat(), written)):
        fresh = cycle_freshness(300, value, clock, BEGAN)
        assert fresh.refresh is None
        assert fresh.not_before == since.timestamp()
        assert not fresh.accepts(
            "registry.example/any/repo", since.timestamp() - 1, NOW.timestamp()
        )


def test_a_request_from_the_future_counts_as_now() -> None:
    later = request_value(NOW + timedelta(days=1), [REPO])
    fresh = cycle_freshness(300, later, clock, BEGAN)
    assert fresh.not_before == NOW.timestamp()
