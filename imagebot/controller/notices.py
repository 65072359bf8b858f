"""The operator's notifications: each pushed commit, and each change of Ready or Stalled.

The receivers of an automation come from its spec and the Secrets it names (read each cycle by
``secrets.resolve_receivers`` and kept here, so that a cycle that fails before reading them can
still be told of). A first status, or one after a suspension, counts as Ready, so a new
automation that works stays quiet and one that stalls at once says so. Deliveries run on threads
in a task of their own: the handler returns at once, and a receiver that fails is a warning log
line and a ``NotificationFailed`` Warning event on the automation, never a failed cycle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from imagebot.config import Receiver
from imagebot.controller.registries import AutomationKey
from imagebot.controller.status import READY, STALLED
from imagebot.model import RunResult
from imagebot.notify import Notice, commit_notice, state_notice
from imagebot.notify.dispatch import Deliver, deliver_once
from imagebot.redact import redact

Emit = Callable[[Mapping[str, Any], str, str, str], None]
State = tuple[str, str]  # (Ready, Stalled) statuses
HEALTHY: State = ("True", "False")
log = logging.getLogger(__name__)


def state_of(conditions: Iterable[Mapping[str, Any]] | None) -> tuple[State, Mapping[str, Any]]:
    """(Ready, Stalled) of a status's conditions and its Ready condition; ``HEALTHY`` for a
    status that has none yet or was suspended (not a state anyone needs to hear of leaving)."""
    found = {c.get("type"): c for c in conditions or () if isinstance(c, Mapping)}
    ready, stalled = found.get(READY), found.get(STALLED)
    if ready is None or ready.get("reason") == "Suspended":
        return HEALTHY, {}
    stalled_status = str(stalled.get("status")) if stalled else "False"
    return (str(ready.get("status")), stalled_status), ready


class OperatorNotices:
    """Receivers per automation and the deliveries under way."""

    def __init__(self, deliver: Deliver = deliver_once) -> None:
        self._deliver = deliver
        self._receivers: dict[AutomationKey, tuple[Receiver, ...]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def remember(self, key: AutomationKey, receivers: tuple[Receiver, ...]) -> None:
        self._receivers[key] = receivers

    def forget(self, key: AutomationKey) -> None:
        self._receivers.pop(key, None)

    def cycle_ended(  # noqa: PLR0917 - one cycle's state, passed on
        self,
        body: Mapping[str, Any],
        previous: Mapping[str, Any],
        status: Mapping[str, Any],
        result: RunResult | None,
        now: datetime,
        emit: Emit,
    ) -> None:
        """Start telling this automation's receivers of the cycle's commit and of a change of
        its conditions (``previous`` status -> ``status`` patch); returns at once."""
        meta = body.get("metadata") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        receivers = self._receivers.get(key)
        if not receivers:
            return
        origin = {"kind": "ImageAutomation", "namespace": key[0], "name": key[1]}
        repository = str(((body.get("spec") or {}).get("git") or {}).get("url") or "")
        notices: list[Notice | None] = []
        if result is not None and result.pushed:
            notices.append(commit_notice(result, origin=origin, repository=repository, now=now))
        before, _ = state_of(previous.get("conditions"))
        after, ready = state_of(status.get("conditions"))
        if after != before:
            reason, message = str(ready.get("reason", "")), str(ready.get("message", ""))
            notices.append(
                state_notice(
                    origin=origin,
                    repository=repository,
                    previous={"ready": before[0], "stalled": before[1]},
                    current={"ready": after[0], "stalled": after[1], "reason": reason},
                    healthy=after == HEALTHY,
                    reason=reason,
                    message=f"Ready={after[0]} Stalled={after[1]} ({reason}): {message}",
                    now=now,
                )
            )
        for notice in notices:
            if notice is not None:
                task = asyncio.get_running_loop().create_task(
                    self._send(body, receivers, notice, emit)
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _send(
        self, body: Mapping[str, Any], receivers: tuple[Receiver, ...], notice: Notice, emit: Emit
    ) -> None:
        deliveries = await asyncio.gather(
            *(asyncio.to_thread(self._deliver, receiver, notice) for receiver in receivers)
        )
        for delivery in deliveries:
            text = redact(str(delivery))
            if delivery.delivered:
                log.debug("%s", text)
                continue
            log.warning("%s", text)
            emit(body, "Warning", "NotificationFailed", text)

    async def settle(self) -> None:
        """Wait for the deliveries under way (tests; a clean shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
