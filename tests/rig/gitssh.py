"""Git over SSH for tests: a private `sshd -D` on a loopback port, key-only, with its own host key.

Everything lives in the server's own directory (host key, client key, authorized_keys,
known_hosts); clients get the exact `GIT_SSH_COMMAND` with strict host-key checking. The login user
is whoever runs the tests (root on CI). Each SSH command costs ~0.3 s of shell start-up: keep SSH
tests few.
"""

from __future__ import annotations

import getpass
import os
import shlex
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.rig import procs
from tests.rig.bare import make_bare_repo

SSHD_BIN = "/usr/sbin/sshd"


@dataclass
class SshGitServer:
    """A running sshd serving the bare repositories under `root`."""

    host: str
    port: int
    user: str
    root: Path
    client_key: Path
    known_hosts: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def ssh_command(self) -> str:
        """The client command: this key only, no user config, no prompts, host key must match."""
        return " ".join(
            [
                "ssh -F /dev/null",
                f"-i {shlex.quote(str(self.client_key))}",
                "-o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes",
                f"-o UserKnownHostsFile={shlex.quote(str(self.known_hosts))}",
            ]
        )

    @property
    def env(self) -> dict[str, str]:
        """Environment for git (or GitPython's `env=`) to reach this server."""
        return {"GIT_SSH_COMMAND": self.ssh_command, "GIT_TERMINAL_PROMPT": "0"}

    def repo_url(self, name: str) -> str:
        return f"ssh://{self.user}@{self.host}:{self.port}{self.root / name}"

    def make_repo(self, name: str, files: Mapping[str, bytes], branch: str = "main") -> str:
        """Create a bare repository under the server's root; returns its ssh:// URL."""
        make_bare_repo(self.root / name, files, branch=branch)
        return self.repo_url(name)

    def stop(self) -> None:
        procs.stop(self.process)


def start_ssh_git_server(workdir: Path) -> SshGitServer:
    """Start sshd on a free port and wait until it greets with its SSH banner."""
    sshd = procs.require_binary(SSHD_BIN, "openssh-server")
    keygen = procs.require_binary("ssh-keygen", "openssh-client")
    procs.require_binary("ssh", "openssh-client")
    workdir.mkdir(parents=True, exist_ok=True)
    root = workdir / "repos"
    root.mkdir(exist_ok=True)
    host_key, client_key = workdir / "host_ed25519", workdir / "client_ed25519"
    for key in (host_key, client_key):
        if not key.exists():
            subprocess.run(
                [keygen, "-q", "-t", "ed25519", "-N", "", "-C", "imagebot-rig", "-f", str(key)],
                check=True,
                capture_output=True,
            )
    authorized = workdir / "authorized_keys"
    authorized.write_text(Path(f"{client_key}.pub").read_text())
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation needs it
    host_public = Path(f"{host_key}.pub").read_text().split()[:2]
    last_error = ""
    for _attempt in range(3):
        port = procs.free_port()
        config = workdir / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {host_key}",
                    f"PidFile {workdir / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized}",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "PermitRootLogin prohibit-password",
                    "AcceptEnv GIT_PROTOCOL",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        known_hosts = workdir / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{port} {' '.join(host_public)}\n")
        log = workdir / "sshd.log"
        # `sshd -D -p PORT` first: .ci/run looks for that pattern to find leftovers.
        argv = [sshd, "-D", "-p", str(port), "-f", str(config), "-e"]
        proc = procs.spawn(argv, stdout=log, stderr=log)
        server = SshGitServer(
            host="127.0.0.1",
            port=port,
            user=getpass.getuser(),
            root=root,
            client_key=client_key,
            known_hosts=known_hosts,
            process=proc,
        )
        if _wait_for_banner(proc, port):
            return server
        procs.stop(proc)
        last_error = procs.tail(log)
        if "Address already in use" not in last_error:
            break
    raise procs.RigError(f"sshd did not start (config {workdir / 'sshd_config'}): {last_error}")


def _wait_for_banner(proc: subprocess.Popen[bytes], port: int, timeout: float = 10.0) -> bool:
    """True once our sshd (still alive) answers with an SSH banner."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-") and proc.poll() is None:
                    return True
        except OSError:
            time.sleep(0.01)
    return False
