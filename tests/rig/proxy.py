"""A loopback HTTP proxy that can lie: a tiny threaded stdlib server in front of a real server.

It forwards each request to its upstream (a rig registry, token server or Git server) and hands
the answer to a test's ``rewrite`` hook, which may change the status, a header or the body; or,
with ``redirect_to`` set, it answers every request with a redirect to another base URL. It
records what every request carried (``Authorization`` included), so a test can prove which host
saw which credential. It can bind any loopback address (127.0.0.2 is a second "host").
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "te", "trailer"}
)


@dataclass
class Exchange:
    """One answer on its way back; a ``rewrite`` hook may change any field."""

    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: bytes
    request_headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    """One request as the proxy received it."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Proxy:
    """A running proxy; ``url`` is its base (http://ADDRESS:PORT), ``host`` its ADDRESS:PORT."""

    url: str
    upstream: str | None
    rewrite: Callable[[Exchange], Exchange] | None = None
    redirect_to: str | None = None
    redirect_status: int = 307
    seen: list[Seen] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_proxy(upstream: str | None, *, bind: str = "127.0.0.1") -> Proxy:
    """Serve on a free port of ``bind``, forwarding to ``upstream`` (None: redirects only)."""
    httpd = ThreadingHTTPServer((bind, 0), _Handler)
    httpd.daemon_threads = True
    proxy = Proxy(url=f"http://{bind}:{httpd.server_address[1]}", upstream=upstream)
    proxy._server = httpd
    httpd.proxy = proxy  # type: ignore[attr-defined]
    threading.Thread(
        target=httpd.serve_forever, args=(0.05,), name="imagebot-rig-proxy", daemon=True
    ).start()
    return proxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        proxy: Proxy = self.server.proxy  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        proxy.seen.append(Seen(self.command, self.path, dict(self.headers.items())))
        if proxy.redirect_to is not None:
            location = proxy.redirect_to.rstrip("/") + self.path
            self._answer(Exchange(self.command, self.path, proxy.redirect_status,
                                  {"Location": location}, b""))  # fmt: skip
            return
        if proxy.upstream is None:
            exchange = Exchange(self.command, self.path, 502, {}, b"no upstream")
        else:
            exchange = _forward(proxy.upstream, self.command, self.path, self.headers.items(), body)
        exchange.request_headers = dict(self.headers.items())
        if proxy.rewrite is not None:
            exchange = proxy.rewrite(exchange)
        self._answer(exchange)

    def _answer(self, exchange: Exchange) -> None:
        self.send_response(exchange.status)
        declared = None
        for name, value in exchange.headers.items():
            if name.lower() == "content-length":
                declared = value
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", declared or "0")
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(exchange.body)))
        self.end_headers()
        self.wfile.write(exchange.body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read ``Proxy.seen`` instead."""


def _forward(upstream: str, method: str, path: str, headers: object, body: bytes) -> Exchange:
    parts = urlsplit(upstream)
    connection = http.client.HTTPConnection(parts.netloc, timeout=30)
    try:
        sent = {k: v for k, v in headers if k.lower() not in _HOP_BY_HOP}  # type: ignore[attr-defined]
        sent["Host"] = parts.netloc
        if body or method in ("POST", "PUT", "PATCH"):
            sent["Content-Length"] = str(len(body))
        connection.request(method, path, body=body or None, headers=sent)
        response = connection.getresponse()
        payload = response.read()
        answer = dict(response.getheaders())
        return Exchange(method, path, response.status, answer, payload)
    finally:
        connection.close()
