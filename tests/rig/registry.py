"""A private CNCF distribution registry (Debian's docker-registry) for tests and benchmarks.

`start_registry` writes its own config, keeps storage on tmpfs, listens on a free 127.0.0.1 port
and returns once *its* process answers `GET /v2/`. The access log goes to a file that
`request_log()` parses, so tests can count requests by kind. It does not push images (images.py).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import bcrypt
import requests

from tests.rig import procs
from tests.rig.procs import RigError
from tests.rig.tokenserver import TokenServer

REGISTRY_BIN = "/usr/bin/docker-registry"
Auth = Literal["basic", "token"] | None

# Apache combined format, as gorilla's logging handler writes it to the registry's stdout:
# 127.0.0.1 - user [28/Nov/2026:14:30:34 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "curl/7.88.1"
_LOG_LINE = re.compile(
    r'^\S+ \S+ \S+ \[[^\]]*\] "(?P<method>[A-Z]+) (?P<target>\S+) [^"]*" (?P<status>\d{3}) '
)
_ROUTE = re.compile(
    r"^/v2/(?P<repo>.+?)/(?:(?P<upload>blobs/uploads)(?:/.*)?|(?P<kind>tags/list|manifests|blobs)(?:/[^/]+)?)$"
)
_SYNC_PREFIX = "/_rig/sync/"


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One line of the registry's access log."""

    method: str
    path: str
    status: int
    query: str = ""

    @property
    def kind(self) -> str:
        """`ping`, `catalog`, `tags`, `manifest`, `blob`, `upload` or `other`."""
        if self.path in ("/v2/", "/v2"):
            return "ping"
        if self.path == "/v2/_catalog":
            return "catalog"
        match = _ROUTE.match(self.path)
        if match is None:
            return "other"
        if match["upload"]:
            return "upload"
        return {"tags/list": "tags", "manifests": "manifest", "blobs": "blob"}[match["kind"]]

    @property
    def repo(self) -> str | None:
        """The repository the request was about, if any."""
        match = _ROUTE.match(self.path)
        return match["repo"] if match else None


def parse_access_log(text: str) -> list[LoggedRequest]:
    """Parse combined-format lines; lines of any other shape are ignored."""
    found = []
    for line in text.splitlines():
        match = _LOG_LINE.match(line)
        if match is None:
            continue
        path, _, query = match["target"].partition("?")
        if path.startswith(_SYNC_PREFIX):
            continue
        found.append(LoggedRequest(match["method"], path, int(match["status"]), query))
    return found


@dataclass
class RegistryServer:
    """A running registry. `host` is what goes in image references (127.0.0.1:PORT)."""

    host: str
    url: str
    workdir: Path
    storage: Path
    process: subprocess.Popen[bytes]
    username: str | None = None
    password: str | None = None
    auth: Auth = None
    token_server: TokenServer | None = None
    _access_log: Path = field(default=Path(), repr=False)

    def request_log(self, *, repo: str | None = None) -> list[LoggedRequest]:
        """Every request the registry has served so far (optionally only those about `repo`).

        gorilla writes a log line after the handler returns, so the line for a response you just
        received can trail it by a moment: a sync request is sent and awaited first.
        """
        self._sync_log()
        entries = parse_access_log(self._access_log.read_text(errors="replace"))
        return [e for e in entries if repo is None or e.repo == repo]

    def _sync_log(self, timeout: float = 5.0) -> None:
        marker = f"{_SYNC_PREFIX}{uuid.uuid4().hex}"
        requests.get(self.url + marker, timeout=timeout)
        deadline = time.monotonic() + timeout
        while marker not in self._access_log.read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise RigError(f"registry {self.host}: access log did not catch up")
            time.sleep(0.002)

    def is_alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Kill the registry (and its token server) and remove its storage."""
        procs.stop(self.process)
        if self.token_server is not None:
            self.token_server.stop()
        shutil.rmtree(self.storage, ignore_errors=True)


def start_registry(
    workdir: Path,
    *,
    auth: Auth = None,
    notifications_url: str | None = None,
    notifications_headers: dict[str, str] | None = None,
    username: str = "rig-user",
    password: str | None = None,
) -> RegistryServer:
    """Start a registry with storage on tmpfs and wait until it serves `GET /v2/`."""
    binary = procs.require_binary(REGISTRY_BIN, "docker-registry")
    workdir.mkdir(parents=True, exist_ok=True)
    password = password or uuid.uuid4().hex
    tokens = None
    auth_config: dict[str, object] = {}
    if auth == "basic":
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4, prefix=b"2a"))
        htpasswd = procs.write_private(workdir / "htpasswd", f"{username}:{hashed.decode()}\n")
        auth_config = {"htpasswd": {"realm": "imagebot-rig", "path": str(htpasswd)}}
    elif auth == "token":
        tokens = TokenServer.start(workdir, users={username: password})
        auth_config = {"token": tokens.registry_config()}
    elif auth is not None:
        raise ValueError(f"auth must be None, 'basic' or 'token', not {auth!r}")

    shm = Path("/dev/shm")
    storage = Path(
        tempfile.mkdtemp(prefix="imagebot-rig-registry-", dir=shm if shm.is_dir() else None)
    )
    last_error = ""
    for _attempt in range(3):
        port = procs.free_port()
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": False}},
            "storage": {
                "filesystem": {"rootdirectory": str(storage)},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": f"127.0.0.1:{port}", "secret": uuid.uuid4().hex},
        }
        if auth_config:
            config["auth"] = auth_config
        if notifications_url:
            endpoint = {
                "name": "imagebot-rig",
                "url": notifications_url,
                "headers": {k: [v] for k, v in (notifications_headers or {}).items()},
                "timeout": "2s",
                "threshold": 3,
                "backoff": "1s",
            }
            config["notifications"] = {"endpoints": [endpoint]}
        # YAML is a superset of JSON, so no YAML writer is needed.
        config_file = workdir / "config.yml"
        config_file.write_text(json.dumps(config, indent=2))
        access_log, error_log = workdir / "access.log", workdir / "registry.log"
        access_log.write_bytes(b"")
        proc = procs.spawn([binary, "serve", str(config_file)], stdout=access_log, stderr=error_log)
        server = RegistryServer(
            host=f"127.0.0.1:{port}",
            url=f"http://127.0.0.1:{port}",
            workdir=workdir,
            storage=storage,
            process=proc,
            username=username if auth else None,
            password=password if auth else None,
            auth=auth,
            token_server=tokens,
            _access_log=access_log,
        )
        if _wait_ready(server):
            return server
        procs.stop(proc)
        last_error = procs.tail(error_log)
        if "address already in use" not in last_error:
            break
    if tokens is not None:
        tokens.stop()
    shutil.rmtree(storage, ignore_errors=True)
    raise RigError(f"docker-registry did not start (config {workdir / 'config.yml'}): {last_error}")


def _wait_ready(server: RegistryServer, timeout: float = 10.0) -> bool:
    """True once our own process answers /v2/ (an old instance on the port must not fool us)."""
    deadline = time.monotonic() + timeout
    with requests.Session() as session:
        while time.monotonic() < deadline:
            if not server.is_alive():
                return False
            try:
                response = session.get(server.url + "/v2/", timeout=1)
            except requests.ConnectionError:
                time.sleep(0.01)
                continue
            # 401 means up but guarded. Our own access log must show the ping: then the answer
            # surely came from our process and not from a stray one on the same port.
            if response.status_code in (200, 401) and server.is_alive():
                while "/v2/" not in server._access_log.read_text(errors="replace"):
                    if time.monotonic() > deadline or not server.is_alive():
                        return False
                    time.sleep(0.002)
                return True
            time.sleep(0.01)
    return False
