"""Running the docs' examples: a work directory holding ``./gitops``, the installed console
script, placeholders replaced by the rig's values, and the marker's promises checked.

``Runner`` runs one example's commands (or writes its configuration where it belongs and tries
it); it starts no server itself: tests/test_doc_examples.py hands it the rig's values, the files
of ``./gitops`` and, for ``needs=kube``, kmock's API.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import selectors
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
import requests
import yaml

from tests.doc_examples import ROOT, Command, Example, runs_imagebot
from tests.rig.bare import make_bare_repo, run_git

if TYPE_CHECKING:
    from pathlib import Path

    from tests.kube_emulator import RunningApi

IMAGEBOT = ROOT / ".venv" / "bin" / "imagebot"
DIGEST = "sha256:" + hashlib.sha256(b"an image in imagebot's docs").hexdigest()

# Two workloads named web, so that a bare ``deployment/web`` is ambiguous (docs/flux-v1.md).
WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  template:
    spec:
      containers:
      - name: app
        image: ghcr.io/acme/app:2.0
      - name: proxy
        image: nginx:1.25.3
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: staging
spec:
  template:
    spec:
      containers:
      - name: app
        image: ghcr.io/acme/app:2.0
"""


def substitute(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace(f"<{name}>", value)
    return text


class Runner:
    """Runs one example's commands from a work directory holding ``./gitops``."""

    def __init__(
        self,
        example: Example,
        tmp_path: Path,
        values: dict[str, str],
        files: dict[str, bytes],
        api: RunningApi | None = None,
    ) -> None:
        assert IMAGEBOT.is_file(), f"no console script at {IMAGEBOT}: is imagebot installed?"
        assert example.marker is not None
        self.example, self.marker, self.values = example, example.marker, values
        self.work = tmp_path / "work"
        self.work.mkdir()
        remote = make_bare_repo(tmp_path / "gitops.git", files)
        run_git("clone", "-q", remote.as_uri(), str(self.work / "gitops"))
        home = tmp_path / "home"
        home.mkdir()
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("KUBERNETES_", "IMAGEBOT_", "GIT_", "DOCKER_"))
        }
        self.env.update(
            HOME=str(home),
            XDG_CACHE_HOME=str(tmp_path / "cache"),
            PATH=f"{IMAGEBOT.parent}{os.pathsep}{os.environ['PATH']}",
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_CONFIG_NOSYSTEM="1",
            GIT_TERMINAL_PROMPT="0",
        )
        for name in self.marker.env:  # secrets the example names, set as a reader would
            self.env[name] = f"doc-example-{name.lower()}"
            if name.endswith("_URL"):  # a webhook's address: a URL no test reaches
                self.env[name] = f"https://hooks.example.org/doc-example-{name.lower()}"
        self.api = api
        if api is not None:
            self.env["KUBECONFIG"] = str(api.write_kubeconfig(tmp_path / "kubeconfig"))

    def try_config(self) -> None:
        """Write the configuration where it belongs and run what tries it."""
        config = self.marker.config
        text = substitute(self.example.text, self.values)
        if config == "repository":
            (self.work / "gitops" / "imagebot.yaml").write_text(text)
            default = "imagebot run --repo ./gitops --dry-run"
        elif config == "trusted":
            (self.work / "imagebot-trusted.yaml").write_text(text)
            default = "imagebot run --repo ./gitops --config imagebot-trusted.yaml --dry-run"
        elif config == "annotations":
            (self.work / "gitops" / "apps" / "example.yaml").write_text(
                annotated(text, self.values)
            )
            default = "imagebot lint --repo ./gitops"
        elif config == "application":
            self.place_application(text)
            default = "imagebot lint --repo ./gitops"
        elif config == "kustomization":
            self.place_kustomization(text)
            default = "imagebot lint --repo ./gitops"
        elif config == "resource":
            self.try_resource(text)
            return
        elif config == "pre-commit":
            self.try_hooks(text)
            return
        else:
            pytest.fail(
                f"{self.example.id}: a yaml example needs config= (docs/testing.md) or "
                'skip reason="..."',
                pytrace=False,
            )
        self.run(Command(substitute(self.marker.run or default, self.values)), self.marker.exit[0])

    def place_application(self, text: str) -> None:
        """The Application in ``./gitops/argocd/``, naming ``./gitops`` itself as its source,
        and a kustomization in its path with an images entry per ``image-list`` image at the
        seed's tag; imagebot must find one automated value per entry there."""
        from imagebot.manifest import scan_tree
        from imagebot.manifest.argocd import IMAGE_LIST, split_constraint

        gitops = self.work / "gitops"
        origin = run_git("-C", str(gitops), "remote", "get-url", "origin").strip()
        text = text.replace(self.values.get("repo-url", "<repo-url>"), origin)
        (gitops / "argocd").mkdir(exist_ok=True)
        (gitops / "argocd" / "example.yaml").write_text(text)
        body = yaml.safe_load(text)
        annotations = body["metadata"]["annotations"]
        entries = [e.strip() for e in annotations[IMAGE_LIST].split(",") if e.strip()]
        lines = ["images:"]
        for entry in entries:
            alias, equals, reference = entry.partition("=")
            image = split_constraint(reference if equals else entry)[0]
            key = f"argocd-image-updater.argoproj.io/{alias}.kustomize.image-name"
            lines += [f"- name: {annotations.get(key, image)}", "  newTag: develop-v1.8.0"]
        path = gitops / body["spec"]["source"]["path"]
        path.mkdir(parents=True, exist_ok=True)
        (path / "kustomization.yaml").write_text("\n".join(lines) + "\n")
        found = scan_tree(gitops, only_automated=True, repository_urls=lambda: (origin,))
        automated = [t for t in found.targets if t.workload.kind == "Application"]
        assert len(automated) == len(entries), (self.example.id, found.problems)

    def place_kustomization(self, text: str) -> None:
        """A kustomization.yaml in ``./gitops/apps/kustomize/``; its annotations must automate
        every one of its ``images:`` entries."""
        from imagebot.manifest import scan_tree

        gitops = self.work / "gitops"
        (gitops / "apps" / "kustomize").mkdir(parents=True, exist_ok=True)
        (gitops / "apps" / "kustomize" / "kustomization.yaml").write_text(text)
        entries = yaml.safe_load(text)["images"]
        found = scan_tree(gitops, only_automated=True)
        automated = [
            t for t in found.targets if t.location.file == "apps/kustomize/kustomization.yaml"
        ]
        assert len(automated) == len(entries), (self.example.id, found.problems)

    def try_resource(self, text: str) -> None:
        """Start the operator as deploy/ runs it, apply the ImageAutomation (and dummy Secrets
        for every Secret it names) and wait for ``Ready=True``; then SIGTERM."""
        from tests.controller_support import deployment_args
        from tests.rig.procs import free_port

        assert self.api is not None, f"{self.example.id}: a resource needs needs=kube"
        api = self.api
        body = yaml.safe_load(text)
        namespace = body["metadata"].get("namespace", "default")
        args = deployment_args(free_port())
        watched = args[args.index("--namespace") + 1] if "--namespace" in args else namespace
        assert namespace == watched, (
            f"{self.example.id}: in namespace {namespace}, which deploy/'s operator does not watch"
        )
        api.create_namespace(namespace)
        for secret in named_secrets(body["spec"], namespace):
            url = f"{api.url}/api/v1/namespaces/{namespace}/secrets"
            api.session.post(url, json=secret, timeout=5).raise_for_status()
        group = body["apiVersion"]
        automations = f"{api.url}/apis/{group}/namespaces/{namespace}/imageautomations"
        name = body["metadata"]["name"]

        def apply_and_wait_until_ready() -> None:
            api.session.post(automations, json=body, timeout=5).raise_for_status()
            deadline = time.monotonic() + self.marker.timeout
            status: dict[str, Any] = {}
            while time.monotonic() < deadline:
                status = api.session.get(f"{automations}/{name}", timeout=5).json()
                conditions = status.get("status", {}).get("conditions", [])
                if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                    return
                time.sleep(0.2)
            pytest.fail(f"{self.example.id}: never Ready: {status.get('status')}", pytrace=False)

        command = Command(shlex.join(["imagebot", *args]))
        self.run(command, self.marker.exit[0], started=apply_and_wait_until_ready)

    def try_hooks(self, text: str) -> None:
        """Each hook the example names exists in .pre-commit-hooks.yaml; its entry runs in the
        repository as pre-commit runs it."""
        hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
        for repo in yaml.safe_load(text):
            for hook in repo["hooks"]:
                assert hook["id"] in hooks, f"{self.example.id}: no hook {hook['id']!r}"
                entry = hooks[hook["id"]]["entry"]
                self.run(Command(entry), self.marker.exit[0], cwd=self.work / "gitops")

    def run(
        self,
        command: Command,
        expected: int,
        *,
        cwd: Path | None = None,
        started: Callable[[], None] | None = None,
    ) -> None:
        text = substitute(command.text, self.values)
        where = f"{self.example.id}: {text}"
        assert runs_imagebot(text), (
            f"{where}: not an imagebot command; keep set-up steps in a block of their own"
        )
        words = text.split()
        never_ends = "controller" in words or ("run" in words and "--interval" in words)
        proc = subprocess.Popen(
            ["bash", "-c", text],
            cwd=cwd or self.work / self.marker.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so that a timeout stops the whole pipeline
        )
        try:
            if never_ends:
                output = self.until_started(proc, words, where, started)
            else:
                output = self.finish(proc, where)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        assert proc.returncode == expected, (
            f"{where}\nexited {proc.returncode}, the docs say {expected}:\n{output}"
        )
        if command.output and self.marker.output:
            wanted = [substitute(line, self.values).rstrip() for line in command.output]
            got = [line.rstrip() for line in output.rstrip("\n").split("\n")]
            assert got == wanted, f"{where}\nprinted:\n{output}\nthe docs show:\n" + "\n".join(
                wanted
            )
        assert "Traceback" not in output, f"{where}\n{output}"

    def finish(self, proc: subprocess.Popen[bytes], where: str) -> str:
        try:
            out, _ = proc.communicate(timeout=self.marker.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            pytest.fail(
                f"{where}\ntook longer than timeout={self.marker.timeout:g}s:\n{out.decode()}",
                pytrace=False,
            )
        return out.decode()

    def until_started(
        self,
        proc: subprocess.Popen[bytes],
        words: list[str],
        where: str,
        started_hook: Callable[[], None] | None,
    ) -> str:
        """Read output until the first cycle's result (``run --interval``) or ``/readyz``
        answers (``controller``), run ``started_hook``, then SIGTERM; the process must exit by
        itself."""
        assert proc.stdout is not None
        deadline = time.monotonic() + self.marker.timeout
        chunks: list[bytes] = []
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        port = words[words.index("--webhook-port") + 1] if "--webhook-port" in words else "9292"
        started = False
        while not started and time.monotonic() < deadline and proc.poll() is None:
            if selector.select(timeout=0.1):
                chunk = os.read(proc.stdout.fileno(), 65536)
                chunks.append(chunk)
            if "controller" in words:
                started = _answers(f"http://127.0.0.1:{port}/readyz")
            else:
                started = b"\n" in b"".join(chunks)
        selector.close()
        if not started:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            chunks.append(proc.stdout.read())
            pytest.fail(
                f"{where}\nno first cycle or readiness within timeout={self.marker.timeout:g}s "
                f"(exit {proc.returncode}):\n{b''.join(chunks).decode()}",
                pytrace=False,
            )
        if started_hook is not None:
            try:
                started_hook()
            except BaseException:
                os.killpg(proc.pid, signal.SIGKILL)
                print(proc.communicate()[0].decode()[-4000:])  # the operator's log, for the failure
                raise
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            rest, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{where}\ndid not exit within 15 s of SIGTERM", pytrace=False)
        return (b"".join(chunks) + rest).decode()


def annotated(fragment: str, values: dict[str, str]) -> str:
    """A Deployment carrying the example's ``metadata`` (its annotations), with one container
    for each ``tag.<container>`` it names, running the seed's flask image."""
    metadata = yaml.safe_load(fragment)["metadata"]
    names = sorted(
        key.rpartition("/tag.")[2] for key in metadata.get("annotations", {}) if "/tag." in key
    )
    lines = ["apiVersion: apps/v1", "kind: Deployment", "metadata:", "  name: example"]
    lines += fragment.split("\n", 1)[1].rstrip("\n").split("\n")  # indented under metadata
    lines += ["spec:", "  template:", "    spec:", "      containers:"]
    image = f"{values['registry']}/demo/flaskapp:develop-v1.8.0"
    for name in names or ["app"]:
        lines += [f"      - name: {name}", f"        image: {image}"]
    return "\n".join(lines) + "\n"


def named_secrets(spec: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    """The Secrets an ImageAutomation names, with dummy values: a Git token, an SSH key pair's
    stand-in, a docker config for a host the example's images do not use, a webhook's address
    (a host that does not resolve) and token."""
    found = []
    git = spec.get("git", {})
    for ref in (git.get("secretRef"), git.get("signingKey", {}).get("secretRef")):
        if ref:
            data = {"token": base64.b64encode(b"doc-example-token").decode()}
            found.append({"metadata": {"name": ref["name"], "namespace": namespace}, "data": data})
    for ref in spec.get("registries", {}).get("secretRefs", []):
        config = {"auths": {"registry.example": {"auth": base64.b64encode(b"u:p").decode()}}}
        encoded = base64.b64encode(json.dumps(config).encode()).decode()
        found.append(
            {
                "metadata": {"name": ref["name"], "namespace": namespace},
                "type": "kubernetes.io/dockerconfigjson",
                "data": {".dockerconfigjson": encoded},
            }
        )
    for receiver in spec.get("notifications", []):
        if receiver.get("secretRef"):
            data = {
                "address": base64.b64encode(b"https://hooks.example.org/doc-example").decode(),
                "token": base64.b64encode(b"doc-example-token").decode(),
            }
            ref = receiver["secretRef"]
            found.append({"metadata": {"name": ref["name"], "namespace": namespace}, "data": data})
    for secret in found:
        secret.update(apiVersion="v1", kind="Secret")
    return found


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False
