"""Run deliveries on worker threads, so a slow or failing receiver never holds back a cycle.

``Dispatcher.send`` returns at once; each delivery's outcome goes to ``report`` from its worker
thread. ``close`` waits a bounded time for deliveries under way (a process about to exit should
still get its last notice out) and then drops the rest. The CLI's poll loop uses it; the
operator runs ``post.deliver`` on its event loop's threads instead, to post events from there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from imagebot.config import Receiver
from imagebot.notify.notice import Notice
from imagebot.notify.post import DEADLINE_SECONDS, Delivery, deliver

Report = Callable[[Delivery], None]
Deliver = Callable[[Receiver, Notice], Delivery]
WORKERS = 4


def deliver_once(receiver: Receiver, notice: Notice) -> Delivery:
    """``post.deliver`` with a session of its own (sessions are not shared between threads)."""
    import requests

    with requests.Session() as session:
        return deliver(receiver, notice, session=session)


class Dispatcher:
    """Deliveries in the background, each reported once when it ends."""

    def __init__(self, report: Report, *, send: Deliver = deliver_once) -> None:
        self._report, self._send = report, send
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="imagebot-notify")
        self._pending: set[Future[Delivery]] = set()
        self._lock = threading.Lock()

    def send(self, receivers: Iterable[Receiver], notice: Notice) -> None:
        """Start delivering ``notice`` to each receiver; returns at once."""
        for receiver in receivers:
            future = self._pool.submit(self._send, receiver, notice)
            with self._lock:
                self._pending.add(future)
            future.add_done_callback(self._done)

    def _done(self, future: Future[Delivery]) -> None:
        with self._lock:
            self._pending.discard(future)
        if not future.cancelled() and future.exception() is None:
            self._report(future.result())

    def wait(self, timeout: float = DEADLINE_SECONDS + 5.0) -> bool:
        """Wait for the deliveries under way, at most ``timeout`` seconds; True if all ended."""
        with self._lock:
            pending = set(self._pending)
        return not wait(pending, timeout=timeout).not_done

    def close(self, timeout: float = DEADLINE_SECONDS + 5.0) -> None:
        """Let deliveries under way end (bounded), then stop the workers."""
        self.wait(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
