"""Registries that misbehave on the wire, played by a tiny raw-socket server: bytes trickled one
at a time (headers, body, token, after a redirect) and connections reset mid-body. The bug: a
registry sending one byte a second held a run for 71 s (``timeoutSeconds`` bounded each read,
not the request), and a reset mid-body crashed the run. Each is now a transient problem for
that image only, while the repository next to it is listed as usual."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from imagebot.config import RegistrySettings
from imagebot.errors import RegistryError
from imagebot.refs import parse_reference
from imagebot.registry import MetadataCache, RegistryClient, RepoQuery
from tests.run_support import imagebot, workload

pytestmark = [pytest.mark.rig, pytest.mark.timeout(60)]

TRICKLE_SECONDS = 0.05  # well inside the per-read timeout: only a whole deadline ends it
Handler = Callable[["Connection"], None]


class Connection:
    """One accepted connection: the request line's path, and ways to answer badly."""

    def __init__(self, sock: socket.socket, path: str, stop: threading.Event, port: int) -> None:
        self.sock, self.path, self.stop, self.port = sock, path, stop, port

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def trickle(self, data: bytes) -> None:
        """One byte at a time until the client hangs up (or the test ends)."""
        for byte in data * 1000:
            if self.stop.wait(TRICKLE_SECONDS):
                return
            self.sock.sendall(bytes([byte]))

    def reset(self) -> None:
        """Close with RST, as a crashed proxy or a middlebox does."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


class RawServer:
    """A loopback HTTP/1.1 server whose every answer is written by hand, one request per
    connection (complete answers say ``Connection: close``); ``routes`` maps a path prefix to
    its handler."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        self.routes = routes
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.requests: list[str] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        with sock:
            try:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                path = head.split(b" ", 2)[1].decode()
                self.requests.append(path)
                handler = next(
                    (h for prefix, h in self.routes.items() if path.startswith(prefix)), not_found
                )
                handler(Connection(sock, path, self.stop, self.port))
            except OSError:
                return  # the client gave up: that is what these tests want

    def close(self) -> None:
        self.stop.set()
        with suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept(); close alone does not
        self.listener.close()
        self.thread.join(5)


def not_found(conn: Connection) -> None:
    conn.send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def good_tags(conn: Connection) -> None:
    body = b'{"name": "team/good", "tags": ["1.0"]}'
    conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def trickled_body(conn: Connection) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 90000\r\n\r\n")
    conn.trickle(b'{"tags": ["1.0", ')


def trickled_headers(conn: Connection) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\n")
    conn.trickle(b"X-Slow: yes\r\n")


def trickled_chunks(conn: Connection) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    conn.send(b"Transfer-Encoding: chunked\r\n\r\n")
    conn.trickle(b"1\r\n{\r\n")


def redirect_to_slow(conn: Connection) -> None:
    conn.send(
        b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /slow\r\nContent-Length: 0\r\n"
        b"Connection: close\r\n\r\n"
    )


def challenge(conn: Connection) -> None:
    realm = f'Bearer realm="http://127.0.0.1:{conn.port}/token",service="raw"'
    conn.send(
        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n"
        + f"WWW-Authenticate: {realm}\r\n\r\n".encode()
    )


def token_slow_for_bad(conn: Connection) -> None:
    """Once the host's challenge is known, the good repository asks for its token up front."""
    if "team%2Fbad" in conn.path or "team/bad" in conn.path:
        trickled_body(conn)
        return
    body = b'{"token": "fine"}'
    conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def reset_mid_body(conn: Connection) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    conn.send(b'{"tags": ["1.')
    conn.reset()


def reset_mid_chunks(conn: Connection) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    conn.send(b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"tag')
    conn.reset()


def reset_before_answer(conn: Connection) -> None:
    conn.reset()


@pytest.fixture
def raw_server() -> Iterator[Callable[[dict[str, Handler]], RawServer]]:
    servers: list[RawServer] = []

    def start(routes: dict[str, Handler]) -> RawServer:
        server = RawServer({"/v2/team/good/": good_tags, **routes})
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def scan_both(server: RawServer, tmp_path: Path) -> tuple[str | None, bool, list[str]]:
    """Scan the bad and the good repository; the bad one's problem and permanence, and the good
    one's tags."""
    settings = RegistrySettings(
        docker_config=str(tmp_path / "no-config.json"), timeout_seconds=1.0, max_retries=1
    )
    client = RegistryClient(settings, cache=MetadataCache(None), workers=2)
    try:
        bad, good = (parse_reference(f"{server.host}/team/{n}:1.0") for n in ("bad", "good"))
        scans = client.scan([RepoQuery(bad), RepoQuery(good)])
    finally:
        client.close()
    bad_scan, good_scan = scans[bad.name], scans[good.name]
    return bad_scan.problem, bad_scan.permanent, [t.tag for t in good_scan.tags]


@pytest.mark.parametrize(
    "routes",
    [
        pytest.param({"/v2/team/bad/": trickled_body}, id="body"),
        pytest.param({"/v2/team/bad/": trickled_headers}, id="headers"),
        pytest.param({"/v2/team/bad/": trickled_chunks}, id="chunked-body"),
        pytest.param({"/v2/team/bad/": redirect_to_slow, "/slow": trickled_body}, id="redirect"),
        pytest.param({"/v2/team/bad/": challenge, "/token": token_slow_for_bad}, id="token"),
    ],
)
def test_a_registry_trickling_bytes_fails_that_image_at_the_whole_request_deadline(
    raw_server: Callable[[dict[str, Handler]], RawServer],
    routes: dict[str, Handler],
    tmp_path: Path,
) -> None:
    server = raw_server(routes)

    problem, permanent, good = scan_both(server, tmp_path)

    assert problem is not None and "did not finish" in problem and "1 s" in problem, problem
    assert server.host in problem
    assert not permanent, "no answer in time is transient: run again later (exit 1)"
    assert good == ["1.0"]


@pytest.mark.parametrize(
    "handler",
    [
        pytest.param(reset_mid_body, id="content-length"),
        pytest.param(reset_mid_chunks, id="chunked"),
        pytest.param(reset_before_answer, id="before-headers"),
    ],
)
def test_a_connection_reset_is_a_transient_problem_for_that_image_only(
    raw_server: Callable[[dict[str, Handler]], RawServer], handler: Handler, tmp_path: Path
) -> None:
    server = raw_server({"/v2/team/bad/": handler})

    problem, permanent, good = scan_both(server, tmp_path)

    assert problem is not None and "did not answer" in problem, problem
    assert "team/bad" in problem and server.host in problem
    assert not permanent
    assert good == ["1.0"]
    assert server.requests.count("/v2/team/bad/tags/list?n=1000") == 2, "retried once"


def test_a_deadline_error_is_a_registry_error_the_reconcile_treats_as_transient(
    raw_server: Callable[[dict[str, Handler]], RawServer], tmp_path: Path
) -> None:
    server = raw_server({"/v2/team/bad/": redirect_to_slow, "/slow": trickled_headers})
    settings = RegistrySettings(docker_config=str(tmp_path / "none"), timeout_seconds=0.5)
    client = RegistryClient(settings, cache=MetadataCache(None))
    try:
        with pytest.raises(RegistryError) as caught:
            client.digest(parse_reference(f"{server.host}/team/bad:1.0"), "1.0")
    finally:
        client.close()
    assert type(caught.value) is RegistryError and not caught.value.permanent


def newer_tags(conn: Connection) -> None:
    body = b'{"name": "team/good", "tags": ["1.0", "1.1"]}'
    conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def deep_tags(conn: Connection) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


@pytest.mark.parametrize(
    ("handler", "strict", "code", "reason"),
    [
        pytest.param(deep_tags, True, 3, "nested too deeply", id="malformed-strict"),
        pytest.param(deep_tags, False, 0, "nested too deeply", id="malformed"),
        pytest.param(reset_mid_body, False, 1, "did not answer", id="reset"),
    ],
)
def test_run_tells_a_malformed_answer_from_a_passing_fault_and_updates_the_rest(
    raw_server: Callable[[dict[str, Handler]], RawServer],
    bare_remote: Callable[..., Path],
    tmp_path: Path,
    handler: Handler,
    strict: bool,
    code: int,
    reason: str,
) -> None:
    server = raw_server({"/v2/team/bad/": handler, "/v2/team/good/": newer_tags})
    files = {
        f"{name}.yaml": workload(name, f"{server.host}/team/{name}:1.0", "semver:^1.0").encode()
        for name in ("bad", "good")
    }
    remote = bare_remote(files)
    flags = ["--strict"] if strict else []
    proc = imagebot(
        "run", "--repo", remote.as_uri(), "--output", "json", *flags, tmp_path=tmp_path, check=False
    )
    assert proc.returncode == code, proc.stderr
    result = json.loads(proc.stdout)
    assert [c["new"].rsplit(":", 1)[-1] for c in result["changes"]] == ["1.1"]
    [problem] = [p for p in result["problems"] if p["file"] == "bad.yaml"]
    assert reason in problem["message"] and server.host in problem["message"]
    assert "Traceback" not in proc.stderr
