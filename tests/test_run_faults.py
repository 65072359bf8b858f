"""`imagebot run` under concurrency and faults: nothing lost, nothing half-done.

Four processes racing on one branch, a process killed with SIGKILL at each step of a cycle, and a
registry that rate-limits in the middle of a run (a small fault-injecting proxy in front of the
real registry, since distribution never answers 429 on its own).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from imagebot.cli.run_cmd import poll, run
from tests.rig import ImagePusher, RegistryServer
from tests.rig.git import run_git
from tests.rig.githttp import GitHttpServer
from tests.run_support import T0, imagebot, workload


def test_four_concurrent_runs_on_one_branch_lose_no_update(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    files = {}
    for n in range(4):
        repo = f"{unique_repo}-{n}"
        pusher.push_tags(repo, {"1.0.0": T0, f"1.{n + 1}.0": T0 + timedelta(hours=1)})
        image = f"{registry.host}/{repo}:1.0.0"
        files[f"apps/w{n}/deploy.yaml"] = workload(f"w{n}", image, "semver:^1.0").encode()
    remote = bare_remote(files)
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "imagebot",
                "run",
                "--repo",
                remote.as_uri(),
                "--path",
                f"apps/w{n}",
                "--output",
                "json",
            ],
            env={**env, "XDG_CACHE_HOME": str(tmp_path / f"cache{n}")},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err for _, err in outputs]
    assert all(json.loads(out)["pushed"] for out, _ in outputs)

    history = run_git("--git-dir", str(remote), "rev-list", "--parents", "main").splitlines()
    assert len(history) == 5
    assert all(len(line.split()) <= 2 for line in history), "history must be linear (no merges)"
    for n in range(4):
        text = run_git("--git-dir", str(remote), "show", f"main:apps/w{n}/deploy.yaml")
        assert f"{unique_repo}-{n}:1.{n + 1}.0  # keep this comment" in text


CRASHING_DRIVER = textwrap.dedent(
    """
    import os, signal, sys
    from imagebot.config import GitSettings, Settings
    from imagebot.reconcile import Edges, reconcile
    from imagebot.reconcile.run import _open_workspace

    point = sys.argv[2]

    def crash():
        os.kill(os.getpid(), signal.SIGKILL)

    def open_workspace(settings):
        workspace = _open_workspace(settings)
        real_commit, real_import = workspace.commit, workspace.commit_texts
        real_push = workspace.push
        def around(real):
            # Files written (in place) or about to be imported (a cached clone): either way
            # the commit is next.
            def commit(*args):
                if point == "after-write":
                    crash()
                sha = real(*args)
                if point == "after-commit":
                    crash()
                return sha
            return commit
        workspace.commit, workspace.commit_texts = around(real_commit), around(real_import)
        def push(**kwargs):
            if point == "during-push":
                # Kill the whole process group while git is sending the pack.
                import threading
                threading.Timer(0.02, lambda: os.killpg(os.getpgid(0), signal.SIGKILL)).start()
            return real_push(**kwargs)
        workspace.push = push
        return workspace

    settings = Settings(git=GitSettings(repo=sys.argv[1]))
    reconcile(settings, edges=Edges(open_workspace=open_workspace))
    """
)


@pytest.mark.parametrize("point", ["after-write", "after-commit", "during-push"])
def test_a_run_killed_mid_cycle_leaves_the_next_run_a_clean_start(
    point: str, app_image: str, http_git_server: GitHttpServer, tmp_path: Path
) -> None:
    # The remote is served by its own process, as a real Git server is: over file:// git's
    # receive-pack would be a child of the killed push and could die holding the remote's ref
    # lock, a state no real remote is left in by its client's death.
    original = workload("app", app_image, "semver:^1.0")
    name = f"killed-{point}-{tmp_path.name}.git"
    url = http_git_server.make_repo(name, {"app.yaml": original.encode()})
    remote = http_git_server.root / name
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "GIT_TERMINAL_PROMPT": "0"}
    killed = subprocess.run(
        [sys.executable, "-c", CRASHING_DRIVER, url, point],
        env=env, capture_output=True, text=True, timeout=60, start_new_session=True, check=False,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    remote_text = run_git("--git-dir", str(remote), "show", "main:app.yaml")
    assert remote_text in (original, original.replace("1.0.0", "1.1.0")), "never half-done"

    result = json.loads(
        imagebot("run", "--repo", url, "--output", "json", tmp_path=tmp_path).stdout
    )
    final = run_git("--git-dir", str(remote), "show", "main:app.yaml")
    assert final == original.replace("1.0.0", "1.1.0")
    commits = run_git("--git-dir", str(remote), "rev-list", "--count", "main").strip()
    assert commits == "2", "exactly one update commit, whoever made it"
    assert result["problems"] == []


class _RateLimitingProxy(BaseHTTPRequestHandler):
    """Forwards to the real registry, but answers 429 for repositories named in ``limited``."""

    upstream = ""
    limited: frozenset[str] = frozenset()
    refused: list[str]  # the paths answered 429, in order

    def do_GET(self) -> None:
        self._forward("GET")

    def do_HEAD(self) -> None:
        self._forward("HEAD")

    def _forward(self, method: str) -> None:
        if any(f"/v2/{name}/" in self.path for name in self.limited):
            self.refused.append(self.path)
            self.send_response(429)
            self.send_header("Retry-After", "120")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        upstream = requests.request(
            method, self.upstream + self.path,
            headers={k: v for k, v in self.headers.items() if k.lower() != "host"}, timeout=10,
        )  # fmt: skip
        body = upstream.content
        self.send_response(upstream.status_code)
        for key, value in upstream.headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Proxy:
    host: str
    refused: list[str]


@pytest.fixture
def proxy(registry: RegistryServer, unique_repo: str) -> Iterator[Proxy]:
    refused: list[str] = []
    handler = type(
        "Proxy",
        (_RateLimitingProxy,),
        {
            "upstream": registry.url,
            "limited": frozenset({f"{unique_repo}-limited"}),
            "refused": refused,
        },
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Proxy(f"127.0.0.1:{server.server_address[1]}", refused)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def rate_limiting_proxy(proxy: Proxy) -> str:
    return proxy.host


def test_a_rate_limited_registry_updates_nothing_of_its_images_and_says_so(
    pusher: ImagePusher,
    unique_repo: str,
    rate_limiting_proxy: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> None:
    ok, limited = f"{unique_repo}-ok", f"{unique_repo}-limited"
    for repo in (ok, limited):
        pusher.push_tags(repo, {"1.0.0": T0, "1.1.0": T0 + timedelta(hours=1)})
    files = {
        "ok.yaml": workload("ok", f"{rate_limiting_proxy}/{ok}:1.0.0", "semver:^1.0").encode(),
        "limited.yaml": workload(
            "limited", f"{rate_limiting_proxy}/{limited}:1.0.0", "semver:^1.0"
        ).encode(),
    }
    remote = bare_remote(files)
    proc = imagebot(
        "run", "--repo", remote.as_uri(), "--output", "json", tmp_path=tmp_path, check=False
    )
    assert proc.returncode == 1, proc.stderr
    assert "left alone" in proc.stderr and limited in proc.stderr
    result = json.loads(proc.stdout)
    assert [c["workload"].rsplit("/", 1)[-1] for c in result["changes"]] == ["ok"]
    assert any(p["file"] == "limited.yaml" for p in result["problems"])
    limited_now = run_git("--git-dir", str(remote), "show", "main:limited.yaml")
    assert limited_now == files["limited.yaml"].decode()


class _Stop(Exception):
    """Ends a poll loop from its sleep, as Ctrl-C would."""


def test_run_interval_keeps_a_host_shut_by_429_for_the_next_cycle(
    pusher: ImagePusher,
    unique_repo: str,
    proxy: Proxy,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
    isolated_git: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The bug: `run --interval` built a registry client per cycle, which forgot the 429 and its
    # Retry-After, so every cycle asked the rate-limited host again.
    limited = f"{unique_repo}-limited"
    pusher.push_tags(limited, {"1.0.0": T0, "1.1.0": T0 + timedelta(hours=1)})
    image = f"{proxy.host}/{limited}:1.0.0"
    remote = bare_remote({"limited.yaml": workload("limited", image, "semver:^1.0").encode()})
    args = ["--repo", remote.as_uri(), "--interval", "5m", "--dry-run", "--output", "json"]
    options = run.make_context("run", args).params
    refused_by_cycle: list[int] = []

    def sleep(seconds: float) -> None:
        assert 0 < seconds <= 300
        refused_by_cycle.append(len(proxy.refused))
        if len(refused_by_cycle) == 2:
            raise _Stop

    with pytest.raises(_Stop):
        poll(options, sleep=sleep)

    first, second = refused_by_cycle
    assert first >= 1, "the first cycle met the 429"
    assert second == first, "the second cycle left the host alone until Retry-After has passed"
    results = _documents(capsys.readouterr().out)
    each = ([f"{proxy.host}/{limited}"], ["registry-unavailable"])
    assert [(r["staleRegistries"], [p["code"] for p in r["problems"]]) for r in results] == [
        each,
        each,
    ]


def _documents(text: str) -> list[dict[str, Any]]:
    """The JSON documents printed one after another."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while text[at:].strip():
        document, at = decoder.raw_decode(text, at + len(text[at:]) - len(text[at:].lstrip()))
        found.append(document)
    return found
