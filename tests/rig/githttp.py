"""Git over smart HTTP for tests: `git http-backend` as a CGI behind a stdlib threading server.

Serves every bare repository under one root at http://127.0.0.1:PORT/<name>, push included,
optionally behind Basic auth. Chunked request bodies (git sends them for packs over 1 MiB) are
decoded before the CGI sees them. Bodies are buffered in memory: fine for test-sized repositories.
"""

from __future__ import annotations

import base64
import hmac
import os
import subprocess
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from tests.rig import procs
from tests.rig.bare import make_bare_repo

REALM = "imagebot-rig-git"


@dataclass
class GitHttpServer:
    """A running smart-HTTP Git server; `url` is its base (http://127.0.0.1:PORT)."""

    root: Path
    url: str
    username: str | None = None
    password: str | None = None
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, status
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)
    _git: str = field(default="git", repr=False)

    def repo_url(self, name: str, *, credentials: bool = True) -> str:
        """Clone URL of repository `name`; with Basic auth the credentials are in it unless told."""
        if credentials and self.username and self.password:
            netloc = self.url.removeprefix("http://")
            userinfo = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}"
            return f"http://{userinfo}@{netloc}/{name}"
        return f"{self.url}/{name}"

    def make_repo(self, name: str, files: Mapping[str, bytes], branch: str = "main") -> str:
        """Create a bare repository served at `name` (e.g. "team/app.git"); returns its URL."""
        make_bare_repo(self.root / name, files, branch=branch)
        return self.repo_url(name)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def start_git_http_server(root: Path, *, basic_auth: bool = False) -> GitHttpServer:
    """Serve the bare repositories under `root` (made with `make_repo`) over smart HTTP."""
    git = procs.require_binary("git", "git")
    root.mkdir(parents=True, exist_ok=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _GitHandler)
    httpd.daemon_threads = True
    server = GitHttpServer(root=root, url=f"http://127.0.0.1:{httpd.server_address[1]}", _git=git)
    if basic_auth:
        server.username, server.password = "rig-git", uuid.uuid4().hex
    server._server = httpd
    httpd.git = server  # type: ignore[attr-defined]
    # A short poll interval keeps shutdown() (which waits for one poll) fast.
    threading.Thread(
        target=httpd.serve_forever, args=(0.05,), name="imagebot-rig-git-http", daemon=True
    ).start()
    return server


class _GitHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        git: GitHttpServer = self.server.git  # type: ignore[attr-defined]
        body = self._read_body()
        user = self._authorised_user(git)
        if git.username and user is None:
            git.requests.append((self.command, self.path, 401))
            self._reply(401, [("WWW-Authenticate", f'Basic realm="{REALM}"')], b"")
            return
        url = urlsplit(self.path)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(git.root),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_PROJECT_ROOT": str(git.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": unquote(url.path),
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
        }
        if user:
            env["REMOTE_USER"] = user
        for header, variable in (
            ("Content-Encoding", "HTTP_CONTENT_ENCODING"),
            ("Git-Protocol", "GIT_PROTOCOL"),
        ):
            if self.headers.get(header):
                env[variable] = self.headers[header]
        cgi = subprocess.run(
            [git._git, "http-backend"], input=body, env=env, capture_output=True, check=False
        )
        status, headers, payload = _parse_cgi(cgi.stdout)
        if cgi.returncode != 0 and not cgi.stdout:
            status, payload = 500, cgi.stderr
        git.requests.append((self.command, self.path, status))
        self._reply(status, headers, payload)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _authorised_user(self, git: GitHttpServer) -> str | None:
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic" or not git.username or not git.password:
            return None
        user, _, password = base64.b64decode(value).decode(errors="replace").partition(":")
        if hmac.compare_digest(user, git.username) and hmac.compare_digest(password, git.password):
            return user
        return None

    def _reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read `GitHttpServer.requests` instead."""


def _parse_cgi(output: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Split CGI output into (status, headers, body); `Status:` sets the code."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, payload = output.partition(separator)
        if found:
            break
    else:
        return 502, [], output
    status, headers = 200, []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        elif name:
            headers.append((name.strip(), value.strip()))
    return status, headers, payload
