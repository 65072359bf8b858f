"""A webhook receiver on 127.0.0.1 for the notification tests: a real HTTP server that records
every request and answers each path from a script (``500`` then ``200``, a ``429`` with
Retry-After, a redirect), and checks a body's ``X-Signature`` the way Flux's docs verify it."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def signature_valid(received: Received, token: str) -> bool:
    """Flux's check: ``sha256=`` and the hex HMAC-SHA256 of the raw body, keyed by the token."""
    algorithm, _, given = received.headers.get("X-Signature", "").partition("=")
    expected = hmac.new(token.encode(), received.body, hashlib.sha256).hexdigest()
    return algorithm == "sha256" and hmac.compare_digest(given, expected)


class WebhookReceiver:
    """Records each POST; ``script[path]`` is a list of answers, the last repeated:
    an int status, or (status, headers)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: dict[str, list[int | tuple[int, dict[str, str]]]] = {}
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with owner._lock:
                    owner.received.append(Received(self.path, dict(self.headers.items()), body))
                    answers = owner.script.get(self.path) or [200]
                    answer = answers.pop(0) if len(answers) > 1 else answers[0]
                status, headers = answer if isinstance(answer, tuple) else (answer, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
