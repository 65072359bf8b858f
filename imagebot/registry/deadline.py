"""Whole-request deadlines: when a request's time is up, the sockets it is using are shut.

requests' ``timeout`` bounds each socket read, so a server that trickles one byte a second holds
a request (headers or body) for as long as it likes. A ``Deadline`` covers one logical request,
its redirects and token exchange included; connections made by ``DeadlineAdapter`` register
with the deadline of the thread using them, and one watchdog thread shuts their sockets when it
passes, which ends any blocked read at once. It decides nothing about errors: the transport
asks ``expired`` and classifies.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

_local = threading.local()


class Deadline:
    """The time limit of one logical request, on the real monotonic clock (sockets wait in real
    time, whatever clock the caller injects for rate limits)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._finished = False
        self._connections: list[HTTPConnection] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def passed(self) -> bool:
        """True once the time is up (whether or not the watchdog has acted yet)."""
        return self.expired or self.remaining() <= 0.0

    def watch(self, connection: HTTPConnection) -> None:
        with self._lock:
            if self._finished:
                return
            if self.expired:
                _shut(connection)
            elif connection not in self._connections:
                self._connections.append(connection)

    def expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self.expired = True
            for connection in self._connections:
                _shut(connection)

    def finish(self) -> None:
        """The request is over: its connections go back to the pool untouched."""
        with self._lock:
            self._finished = True
            self._connections.clear()

    @property
    def finished(self) -> bool:
        return self._finished


def _shut(connection: HTTPConnection) -> None:
    sock = getattr(connection, "sock", None)
    if not isinstance(sock, socket.socket):
        return  # not connected yet (the connect timeout bounds that), or a proxy tunnel's wrapper
    with suppress(OSError):  # already closed by its owner
        # Wakes a blocked recv in another thread (close does not). Called on the plain socket
        # level so an SSLSocket's TLS state is left to the thread using it.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One thread for the whole process, alive only while some deadline is pending."""

    def __init__(self) -> None:
        self._pending: list[Deadline] = []
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._wake:
            self._pending.append(deadline)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="imagebot-deadlines", daemon=True
                )
                self._thread.start()
            elif deadline.at <= min(d.at for d in self._pending):
                # Woken only for a deadline earlier than the one it sleeps until: requests of
                # one kind share a timeout, so a scan of 200 repositories wakes it about once,
                # not twice a request (each wake-up takes the interpreter lock from a worker).
                self._wake.notify()

    def remove(self, deadline: Deadline) -> None:
        # No wake-up: a watchdog sleeping until this deadline finds it gone, and sleeps on.
        with self._wake:
            if deadline in self._pending:
                self._pending.remove(deadline)

    def _run(self) -> None:
        with self._wake:
            while self._pending:
                first = min(self._pending, key=lambda d: d.at)
                wait = first.at - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                self._pending.remove(first)
                first.expire()
            self._thread = None


_WATCHDOG = _Watchdog()


def current() -> Deadline | None:
    """The deadline of the request this thread is making, if any."""
    found: Deadline | None = getattr(_local, "deadline", None)
    return found


@contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Run one logical request under a deadline; a nested one (the token exchange inside a
    request) shares the outer deadline, so the whole exchange is bounded once."""
    outer = current()
    if outer is not None:
        yield outer
        return
    bound = Deadline(seconds)
    _local.deadline = bound
    _WATCHDOG.add(bound)
    try:
        yield bound
    finally:
        _local.deadline = None
        bound.finish()
        _WATCHDOG.remove(bound)


class _Watched:
    """Mixed into urllib3's connections: each request registers with the thread's deadline."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        bound = current()
        if bound is not None:
            bound.watch(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        bound = current()
        if bound is not None:
            bound.watch(self)  # type: ignore[arg-type]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def _watch_pools(manager: PoolManager) -> None:
    manager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections obey the thread's ``deadline``."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _watch_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, PoolManager):
            _watch_pools(manager)
        return manager
