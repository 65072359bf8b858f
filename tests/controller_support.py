"""What the controller tests share: a seeded API emulator, canned results, a stand-in reconcile
and the seed scenario's manifest and images.

``Recorder`` takes the reconcile's place (the controller's half of the contract is what these
tests check) and collects the events the controller would post; Secrets and workloads still come
from the emulated API server through the real kubernetes client.
"""

from __future__ import annotations

import base64
import gc
import json
import shutil
import subprocess
import warnings
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from kopf.testing import KopfRunner

from imagebot.config import Settings
from imagebot.controller.handlers import Controller
from imagebot.controller.kube import Cluster
from imagebot.controller.metrics import Metrics
from imagebot.controller.web import RUNNER_OPTIONS
from imagebot.model import (
    Change,
    CommitSha,
    Location,
    PolicySpec,
    RunResult,
    Target,
    TargetKind,
    WorkloadId,
)
from imagebot.refs import parse_reference
from tests.kube_emulator import RunningApi
from tests.rig.images import ImagePusher

ROOT = Path(__file__).resolve().parent.parent


class KopfRun(KopfRunner):
    """``kopf.testing.KopfRunner`` that collects what kopf's stopped loop left behind.

    kopf sometimes stops with a watch connection to the API server still open (aiohttp's
    transport outlives the event loop that owned it). In a real operator the process exits and
    the kernel closes it; in a test the garbage collector finds it at a random later point, in
    whatever thread runs then, and ``filterwarnings = error`` fails an unrelated test. Collecting
    here, the moment the runner stops, keeps that ResourceWarning where it belongs: nowhere.
    """

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return super().__exit__(*exc_info)
        finally:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()


SEED = ROOT / "fixtures" / "manifests" / "seed-example" / "original" / "deployment.yaml"
OLD, NEW = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# The login in the seeded ``regcred`` Secret: long enough for a leak search to mean something.
REGCRED_USER, REGCRED_PASSWORD = "regcred-bot", "regcred-Pa55-7f3a9c2e41"
REGCRED_AUTH = base64.b64encode(f"{REGCRED_USER}:{REGCRED_PASSWORD}".encode()).decode()
FLASK = Target(
    location=Location("deployment.yaml", 40),
    kind=TargetKind.CONTAINER,
    image=parse_reference("registry.example/demo/flaskapp:develop-v1.8.0"),
    workload=WorkloadId("Deployment", "my-demo", "fluxdemo"),
    container="flask",
    policy=PolicySpec("glob:develop-v*", "annotation fluxcd.io/tag.flask"),
)
PUSHED = RunResult(
    changes=(
        Change(
            FLASK,
            "registry.example/demo/flaskapp:develop-v1.8.0",
            "registry.example/demo/flaskapp:develop-v1.9.0",
            "develop-v1.9.0",
        ),
    ),
    commit=CommitSha("abc1234def5678"),
    pushed=True,
    branch="main",
    remote_revision="abc1234def5678",
    push_attempts=2,
    chosen={"deployment.yaml:40": "registry.example/demo/flaskapp:develop-v1.9.0"},
    requests={"list": 1},
    observed="f1ngerpr1nt",
    duration_seconds=0.4,
)


DEPLOY = ROOT / "deploy"


def rendered_deploy(root: Path = DEPLOY) -> list[dict[str, Any]]:
    """``kubectl kustomize deploy/`` (or an overlay such as ``deploy/ha``), or its Python build
    (tests/test_controller_deploy.py) where kubectl is missing: what an installer applies."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        from tests.test_controller_deploy import build

        return build(root)
    rendered = subprocess.run(
        [kubectl, "kustomize", str(root)], check=True, capture_output=True, text=True
    ).stdout
    return [document for document in yaml.safe_load_all(rendered) if document]


def apply_deploy_namespaces(api: RunningApi, root: Path = DEPLOY) -> None:
    """Create the Namespaces deploy/ installs, as ``kubectl apply -k deploy/`` does before the
    operator starts: kopf watches nothing in a namespace the API server does not list."""
    for found in rendered_deploy(root):
        if found["kind"] == "Namespace":
            api.create_namespace(found["metadata"]["name"])


def deployment_args(port: int, root: Path = DEPLOY) -> list[str]:
    """The controller container's args from deploy/, ``--webhook-port`` swapped for ``port``
    (the one change allowed: tests run side by side)."""
    (deployment,) = [o for o in rendered_deploy(root) if o["kind"] == "Deployment"]
    containers = deployment["spec"]["template"]["spec"]["containers"]
    (container,) = [c for c in containers if c["name"] == "imagebot"]
    args = [str(arg) for arg in container["args"]]
    args[args.index("--webhook-port") + 1] = str(port)
    return args


def seed_manifest(host: str, repo: str) -> bytes:
    """The seed deployment, its broken flask reference repaired, both images under ``host/repo``."""
    text = SEED.read_bytes()
    text = text.replace(b"docker.io//flaskapp", f"{host}/{repo}/flaskapp".encode())
    return text.replace(b"image: nginx:", f"image: {host}/{repo}/nginx:".encode())


def fleet_manifest(name: str, images: list[str], policy: str = "semver:~1") -> bytes:
    """A Deployment ``name`` in my-demo, automated, one container per image (``host/repo:tag``),
    each under ``policy`` (semver by default: no creation times, so a cycle's registry requests
    are its tag lists)."""
    annotations = "".join(
        f"    flux.weave.works/tag.c{i}: '{policy}'\n" for i in range(len(images))
    )
    containers = "".join(
        f"      - name: c{i}\n        image: {image}\n" for i, image in enumerate(images)
    )
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
        f"  name: {name}\n  namespace: my-demo\n  annotations:\n"
        f"    flux.weave.works/automated: 'true'\n{annotations}"
        f"spec:\n  template:\n    spec:\n      containers:\n{containers}"
    ).encode()


def seed_automation(name: str, remote: Path, registry_host: str) -> dict[str, Any]:
    """The ImageAutomation a user writes for the seed scenario: hourly (anything sooner came from
    a trigger), its Git remote a bare repo on disk, the rig registry over plain HTTP."""
    return {
        "apiVersion": "imagebot.io/v1alpha1",
        "kind": "ImageAutomation",
        "metadata": {"name": name},
        "spec": {
            "interval": "1h",
            "git": {"url": f"file://{remote}", "branch": "main"},
            "registries": {"hosts": [{"host": registry_host, "insecure": True}]},
        },
    }


def push_seed_images(pusher: ImagePusher, repo: str, *, released: bool = True) -> None:
    """The seed's images under ``repo``: nginx 1.16-perl and flask develop-v1.8.0 (OLD), and
    with ``released`` the develop-v1.9.0 (NEW) that the seed scenario is about."""
    flask = {"develop-v1.8.0": OLD, **({"develop-v1.9.0": NEW} if released else {})}
    pusher.push_tags(f"{repo}/flaskapp", flask)
    pusher.push_tags(f"{repo}/nginx", {"1.16-perl": OLD})


def api_with_automation(namespace: str, name: str, images: list[str]) -> Iterator[RunningApi]:
    """An emulated API server holding one ImageAutomation whose last cycle used ``images``
    (what a webhook delivery is matched against)."""
    running = RunningApi().start()
    automation = {
        "apiVersion": "imagebot.io/v1alpha1",
        "kind": "ImageAutomation",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"git": {"url": "file:///r.git"}},
        "status": {"images": images},
    }
    running.session.post(
        f"{running.url}/apis/imagebot.io/v1alpha1/namespaces/{namespace}/imageautomations",
        json=automation,
        timeout=5,
    ).raise_for_status()
    yield running
    running.stop()


def seeded_api() -> Iterator[RunningApi]:
    """An emulated API server with the seed's Deployment and a dockerconfigjson Secret."""
    running = RunningApi().start()
    running.session.post(
        f"{running.url}/apis/apps/v1/namespaces/my-demo/deployments",
        json={
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "fluxdemo", "namespace": "my-demo", "uid": "u-1"},
        },
        timeout=5,
    ).raise_for_status()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": "regcred", "namespace": "my-demo"},
        "data": {
            ".dockerconfigjson": base64.b64encode(
                json.dumps({"auths": {"registry.example": {"auth": REGCRED_AUTH}}}).encode()
            ).decode()
        },
    }
    running.session.post(f"{running.url}/api/v1/namespaces/my-demo/secrets", json=secret, timeout=5)
    yield running
    running.stop()


class Recorder:
    """Stands in for reconcile (answering with ``result``) and collects the events posted."""

    def __init__(self, result: RunResult | Exception) -> None:
        self.result = result
        self.events: list[tuple[str, str, str, str]] = []
        self.settings: list[Settings] = []
        self.since: list[str | None] = []
        self.docker_config: str = ""

    def emit(self, body: Any, type_: str, reason: str, message: str) -> None:
        self.events.append((body.get("kind", ""), type_, reason, message))

    def reconcile(self, settings: Settings, edges: Any, unchanged_since: str | None) -> RunResult:
        self.settings.append(settings)
        self.since.append(unchanged_since)
        if settings.registries.docker_config:
            self.docker_config = Path(settings.registries.docker_config).read_text()
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def controller(
    api: RunningApi,
    recorder: Recorder,
    *,
    clock: Callable[[], datetime] = lambda: NOW,
    metrics: Metrics | None = None,
) -> Controller:
    return Controller(
        cluster=Cluster(api.client()),
        metrics=metrics or Metrics(),
        emit=recorder.emit,
        run_reconcile=recorder.reconcile,
        clock=clock,
    )


def body(*, status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    """An ImageAutomation at generation 3 with ``spec`` over a minimal Git spec."""
    return {
        "apiVersion": "imagebot.io/v1alpha1",
        "kind": "ImageAutomation",
        "metadata": {"name": "seed", "namespace": "my-demo", "generation": 3},
        "spec": {"git": {"url": "file:///srv/fluxdemo.git"}, **spec},
        "status": status or {},
    }


async def served(app: web.Application) -> TestServer:
    """``app`` on a loopback port, served the way the operator serves it (``RUNNER_OPTIONS``:
    no access log). TestServer drops options given to its constructor, so they go to
    ``start_server``; a TestClient over the result closes it."""
    server = TestServer(app)
    await server.start_server(**RUNNER_OPTIONS)
    return server


def send_json(
    handler: BaseHTTPRequestHandler,
    status: int,
    document: object,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer a hand-made API server's request with ``document`` as JSON."""
    body = json.dumps(document).encode()
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
