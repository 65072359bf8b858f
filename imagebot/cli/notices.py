"""Notifications of ``imagebot run``: each commit, and each change of the exit code between the
cycles of ``--interval``.

The receivers come from ``--config`` only (the settings grammar refuses them in the repository's
own ``imagebot.yaml``). The first cycle of a loop is compared with a healthy exit 0, so a loop
that starts failing says so and one that starts well stays quiet; a single run (no
``--interval``) tells only of its commit. Deliveries run in the background and a failed one is a
warning on stderr: it never changes an exit code. Nothing is imported for notifications unless a
receiver is configured.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from imagebot.cli.common import EXIT_OK
from imagebot.config import Receiver
from imagebot.redact import redact

if TYPE_CHECKING:
    from imagebot.model import RunResult
    from imagebot.notify.dispatch import Dispatcher
    from imagebot.notify.post import Delivery

# What each exit code means, in a notice (the table of ``imagebot --help``, shortened).
MEANINGS: Mapping[int, str] = {
    0: "done",
    1: "a transient failure (network, registry, push); retrying",
    2: "a usage, configuration or permanent error; fix it",
    3: "problems were reported (--strict)",
    5: "nothing matched: --path holds no automated image",
}


class RunNotices:
    """One ``run`` command's notifications, across the cycles of its loop."""

    def __init__(self, repository: str, *, loop: bool) -> None:
        self.repository, self.loop = repository, loop
        self.receivers: tuple[Receiver, ...] = ()
        self.previous: int | None = None
        self._dispatcher: Dispatcher | None = None

    @property
    def origin(self) -> dict[str, str]:
        return {"kind": "Repository", "name": self.repository}

    def cycle_ended(
        self, code: int, result: RunResult | None, receivers: tuple[Receiver, ...] | None
    ) -> None:
        """After each cycle: tell of its commit, and (in a loop) of a changed exit code.
        ``receivers`` None keeps the last cycle's (a cycle whose --config failed has none)."""
        if receivers is not None:
            self.receivers = receivers
        if not self.receivers:  # nobody to tell: notify is not even loaded
            self.previous = code
            return
        from imagebot.notify import commit_notice, state_notice

        now = datetime.now(UTC)
        notices = []
        if result is not None:
            notices.append(
                commit_notice(result, origin=self.origin, repository=self.repository, now=now)
            )
        before = EXIT_OK if self.previous is None else self.previous
        if self.loop and code != before:
            notices.append(
                state_notice(
                    origin=self.origin,
                    repository=self.repository,
                    previous={"exitCode": self.previous},
                    current={"exitCode": code},
                    healthy=code == EXIT_OK,
                    reason="ExitCode",
                    message=f"exit code {before} -> {code}: {MEANINGS.get(code, 'see --help')}",
                    now=now,
                )
            )
        self.previous = code
        for notice in notices:
            if notice is not None and self.receivers:
                self._dispatch().send(self.receivers, notice)

    def _dispatch(self) -> Dispatcher:
        if self._dispatcher is None:
            from imagebot.notify.dispatch import Dispatcher

            self._dispatcher = Dispatcher(_report)
        return self._dispatcher

    def close(self) -> None:
        """Let the last notices out (bounded) before the command exits."""
        if self._dispatcher is not None:
            self._dispatcher.close()


def _report(delivery: Delivery) -> None:
    if not delivery.delivered:
        sys.stderr.write(f"imagebot: warning: {redact(str(delivery))}\n")
