"""A Kubernetes API emulator for operator tests: kmock 0.8's emulator with its gaps filled.

kmock's emulator is meant to be subclassed for special behaviour (its docstring says so); this
subclass uses only kmock's public names. kmock 0.8 gives objects no ``uid``/``resourceVersion``/
``creationTimestamp`` (kopf then re-runs handlers on stale events), ignores
``metadata.generateName`` (kopf's second event gets 409), keeps a Secret's ``stringData`` as
it is (the API server encodes it into ``data``), leaves out ``metadata.namespace``
when the body does not give it, answers ``GET /api/v1/namespaces`` with
500 and leaves ``kind`` out of lists. ``KubeEmulator`` fixes those; ``RunningApi`` serves it from a
thread of its own so that synchronous tests, ``KopfRunner``'s thread and the kubernetes client can
all talk to it.

Like a real API server it answers 401 to any request without a bearer token it accepts: tests
log in the way users do, through a kubeconfig (``RunningApi.kubeconfig``) that carries the token,
and ``rotate`` replaces the token as a kubelet rotates a bound service-account token.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import itertools
import json
import secrets
import ssl
import tempfile
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp.web
import attrs
import kmock
import requests
import yarl

from imagebot.controller.kube import api_client
from imagebot.controller.login import Login

RESOURCES: dict[str, kmock.ResourceInfo] = {
    "imagebot.io/v1alpha1/imageautomations": kmock.ResourceInfo(
        kind="ImageAutomation",
        singular="imageautomation",
        namespaced=True,
        verbs={"get", "list", "watch", "patch", "create", "delete"},
    ),
    "v1/events": kmock.ResourceInfo(kind="Event", namespaced=True, verbs={"create", "list"}),
    "v1/secrets": kmock.ResourceInfo(
        kind="Secret", namespaced=True, verbs={"get", "create", "patch"}
    ),
    "v1/namespaces": kmock.ResourceInfo(kind="Namespace", namespaced=False, verbs={"get", "list"}),
    # What kopf's peering needs when the operator runs with --peering (deploy/ha/).
    "kopf.dev/v1/kopfpeerings": kmock.ResourceInfo(
        kind="KopfPeering", namespaced=True, verbs={"get", "list", "watch", "patch", "create"}
    ),
    "apps/v1/deployments": kmock.ResourceInfo(
        kind="Deployment", namespaced=True, verbs={"get", "list", "create"}
    ),
}


@attrs.define(kw_only=True)
class KubeEmulator(kmock.KubernetesEmulator):
    """The kmock emulator plus object identity, versions and generateName."""

    _versions: Any = attrs.field(factory=lambda: itertools.count(1), init=False)
    tokens: set[str] = attrs.field(factory=set)  # the bearer tokens accepted now
    refused: list[str] = attrs.field(factory=list)  # "METHOD path" of every 401 answered
    namespaces: set[str] = attrs.field(factory=set)  # created as Namespace objects

    async def _handle(self, request: kmock.Request) -> Any:
        data = request.data if isinstance(request.data, dict) else None
        if request.resource is not None and data is not None:
            metadata = data.setdefault("metadata", {})
            if data.get("kind") == "Secret" and "stringData" in data:
                # As the API server does: stringData is written into data, base64-encoded.
                encoded = {
                    key: base64.b64encode(str(value).encode()).decode()
                    for key, value in (data.pop("stringData") or {}).items()
                }
                data["data"] = {**(data.get("data") or {}), **encoded}
            if request.action == kmock.action.CREATE:
                if not metadata.get("name") and metadata.get("generateName"):
                    metadata["name"] = metadata["generateName"] + uuid.uuid4().hex[:5]
                if request.namespace:  # as the API server does: the URL's namespace
                    metadata.setdefault("namespace", request.namespace)
                metadata.setdefault("uid", str(uuid.uuid4()))
                metadata.setdefault(
                    "creationTimestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                )
                metadata.setdefault("generation", 1)
                metadata["resourceVersion"] = str(next(self._versions))
            elif request.action == kmock.action.UPDATE:
                metadata["resourceVersion"] = str(next(self._versions))
                if "spec" in data:  # the API server bumps generation on spec changes only
                    key = (request.resource, request.namespace, request.name)
                    if key in self.objects:
                        current = self.objects[key].get("metadata", {}).get("generation", 1)
                        metadata["generation"] = int(current) + 1
        return await super()._handle(request)

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        scheme, _, token = raw_request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self.tokens:
            self.refused.append(f"{raw_request.method} {raw_request.path}")
            status = {"kind": "Status", "apiVersion": "v1", "status": "Failure"}
            body = {**status, "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
            return aiohttp.web.json_response(body, status=401)
        # kmock 0.8 fails to parse this URL (500 for ever): Namespaces are kept here. A list
        # holds those created and those objects live in; kopf waits for a watched namespace
        # to be listed before it watches anything in it, as in a real cluster.
        if raw_request.path.rstrip("/") == "/api/v1/namespaces" and raw_request.method == "POST":
            created = await raw_request.json()
            self.namespaces.add(created["metadata"]["name"])
            return aiohttp.web.json_response(created, status=201)
        if raw_request.method == "GET" and raw_request.path.rstrip("/") == "/api/v1/namespaces":
            if raw_request.query.get("watch") == "true":
                return await _silent_stream(raw_request)
            names = sorted({ns for _, ns, _ in self.objects if ns} | self.namespaces)
            items = [{"metadata": {"name": name}} for name in names]
            body = {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {}, "items": items}
            return aiohttp.web.json_response(body)
        return await super().__call__(raw_request)

    async def _serve_list(self, request: kmock.Request) -> Any:
        listing = await super()._serve_list(request)
        if request.resource is not None:
            info = self.resources.get(request.resource)  # type: ignore[call-overload]
            kind = getattr(info, "kind", None) or "Object"
            listing = {"kind": f"{kind}List", "apiVersion": "v1", **listing}
        return listing


async def _silent_stream(raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
    """A watch on which nothing ever happens, open until the client or the server goes away."""
    response = aiohttp.web.StreamResponse()
    await response.prepare(raw_request)
    await asyncio.Event().wait()
    return response


class RunningApi:
    """A ``KubeEmulator`` served on 127.0.0.1 from a background thread's event loop, with the
    kubeconfig a user would be given for it (``kubeconfig``, bearer token in ``token_file``)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self.url = ""
        self.emulator: KubeEmulator | None = None
        self._thread = threading.Thread(target=self._serve, name="kube-emulator", daemon=True)
        self._home = tempfile.TemporaryDirectory(prefix="kube-emulator-")
        self.kubeconfig = Path(self._home.name) / "kubeconfig"
        self.token_file = Path(self._home.name) / "token"
        self.token = ""
        self.session = requests.Session()  # kubectl's stand-in: carries the current token
        self._fronts: list[asyncio.Server] = []

    def start(self) -> RunningApi:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the Kubernetes emulator did not start")
        self.rotate()
        self.write_kubeconfig(self.kubeconfig)
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self.session.close()
        self._home.cleanup()

    def create_namespace(self, name: str) -> None:
        """Create a Namespace, as ``kubectl create namespace`` does: an operator that watches
        ``name`` waits until the API server lists it."""
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        self.session.post(f"{self.url}/api/v1/namespaces", json=body, timeout=5).raise_for_status()

    def rotate(self) -> str:
        """A new token in ``token_file``; from now on only it is accepted. Returns it."""
        assert self.emulator is not None
        self.token = f"kube-{secrets.token_hex(16)}"
        staged = self.token_file.with_suffix(".new")
        staged.write_text(self.token, encoding="utf-8")
        staged.replace(self.token_file)  # atomic, as the kubelet swaps its projected volume
        asyncio.run_coroutine_threadsafe(self._accept_only(self.token), self.loop).result(10)
        self.session.headers["Authorization"] = f"Bearer {self.token}"
        return self.token

    async def _accept_only(self, token: str) -> None:
        assert self.emulator is not None
        self.emulator.tokens.clear()
        self.emulator.tokens.add(token)

    def write_kubeconfig(
        self, path: Path, *, token_file: bool = False, context: str = "emu"
    ) -> Path:
        """A kubeconfig for this server, the token inline or by ``tokenFile`` (follows rotation)."""
        user = {"tokenFile": str(self.token_file)} if token_file else {"token": self.token}
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": user}],
            "contexts": [{"name": context, "context": {"cluster": "emulator", "user": "tester"}}],
            "current-context": context,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")  # JSON is YAML
        return path

    def tls_front(self, ca_file: Path) -> int:
        """A TLS listener on 127.0.0.1 in front of the emulator, as a pod sees its API server
        (``https://KUBERNETES_SERVICE_HOST:PORT``); its CA goes to ``ca_file``. Returns the port."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert, key = _tls_identity(ca_file, Path(self._home.name))
        context.load_cert_chain(cert, key)
        future = asyncio.run_coroutine_threadsafe(self._tls_listen(context), self.loop)
        return future.result(10)

    async def _tls_listen(self, context: ssl.SSLContext) -> int:
        plain = yarl.URL(self.url)

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                writer.close()

        async def connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            upstream_reader, upstream_writer = await asyncio.open_connection(plain.host, plain.port)
            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

        server = await asyncio.start_server(connect, "127.0.0.1", 0, ssl=context)
        self._fronts.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    def client(self) -> Any:
        """imagebot's own ApiClient, logged in through the kubeconfig as the operator does."""
        return api_client(Login(kubeconfig=str(self.kubeconfig)))

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())
        self.loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with KubeEmulator() as emulator, kmock.Server(emulator) as server:
            for key, info in RESOURCES.items():
                emulator.resources[key] = info
            self.emulator = emulator
            self.url = str(server.url).rstrip("/")
            self._started.set()
            await self._stop.wait()
            for front in self._fronts:
                front.close()


def _tls_identity(ca_file: Path, private: Path) -> tuple[Path, Path]:
    """A throwaway CA (written to ``ca_file``) and a server certificate it signed for 127.0.0.1;
    returns the server's certificate and key files, kept in ``private``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def issue(subject: str, key: Any, issuer: x509.Name, signer: Any, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-emulator CA")])
    ca_cert = issue("kube-emulator CA", ca_key, ca_name, ca_key, ca=True)
    server_cert = issue("kube-emulator", server_key, ca_name, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    ca_file.parent.mkdir(parents=True, exist_ok=True)
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    cert_file, key_file = private / "front.crt", private / "front.key"
    cert_file.write_bytes(server_cert.public_bytes(pem))
    key_file.write_bytes(
        server_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file
