"""A small Docker-style token server for the `auth: token` registry (the Docker Hub flow).

Issues RS256 JWTs with an `x5c` header holding a self-signed certificate that the registry trusts
via `rootcertbundle`. Known users get pull, push and delete; anonymous callers get pull only, and
nothing for repositories under `private/`. It is a test double of a real auth service, not one.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

SERVICE = "imagebot-rig-registry"
ISSUER = "imagebot-rig-token-issuer"
PRIVATE_PREFIX = "private/"
TOKEN_LIFETIME = 300


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """One call to the token endpoint, recorded so tests can count token fetches."""

    user: str | None
    scopes: tuple[str, ...]
    status: int


@functools.cache
def signing_identity() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """An RSA key and self-signed certificate, made once per process (keygen is the slow part)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def grant(user: str | None, scope: str) -> dict[str, object] | None:
    """The access entry a caller gets for one requested scope (None: nothing)."""
    kind, _, rest = scope.partition(":")
    name, _, wanted = rest.rpartition(":")
    actions = set(wanted.split(",")) if wanted else set()
    if kind == "registry" and user is not None:
        return {"type": kind, "name": name, "actions": sorted(actions)}
    if kind != "repository" or not name:
        return None
    if user is not None:
        allowed = actions & {"pull", "push", "delete", "*"}
    elif name.startswith(PRIVATE_PREFIX):
        allowed = set()
    else:
        allowed = actions & {"pull"}
    return {"type": kind, "name": name, "actions": sorted(allowed)}


def make_token(user: str | None, scopes: list[str], *, now: float | None = None) -> str:
    key, cert = signing_identity()
    issued = int(now if now is not None else time.time())
    header = {
        "alg": "RS256",
        "typ": "JWT",
        "x5c": [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()],
    }
    access = [g for g in (grant(user, s) for s in scopes) if g is not None]
    claims = {
        "iss": ISSUER,
        "sub": user or "",
        "aud": SERVICE,
        "exp": issued + TOKEN_LIFETIME,
        "nbf": issued - 10,
        "iat": issued,
        "jti": uuid.uuid4().hex,
        "access": access,
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


@dataclass
class TokenServer:
    """The token endpoint in a daemon thread; `realm` is its URL."""

    realm: str
    cert_bundle: Path
    users: dict[str, str]
    requests: list[TokenRequest] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    @classmethod
    def start(cls, workdir: Path, *, users: dict[str, str]) -> TokenServer:
        _, cert = signing_identity()
        bundle = workdir / "token-cert.pem"
        bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenHandler)
        server.daemon_threads = True
        port = server.server_address[1]
        tokens = cls(realm=f"http://127.0.0.1:{port}/token", cert_bundle=bundle, users=users)
        tokens._server = server
        server.tokens = tokens  # type: ignore[attr-defined]
        threading.Thread(
            target=server.serve_forever, args=(0.05,), name="imagebot-rig-tokens", daemon=True
        ).start()
        return tokens

    def registry_config(self) -> dict[str, str]:
        """The `auth.token` section of the registry's config."""
        return {
            "realm": self.realm,
            "service": SERVICE,
            "issuer": ISSUER,
            "rootcertbundle": str(self.cert_bundle),
        }

    def authenticate(self, header: str | None) -> tuple[bool, str | None]:
        """(ok, user): no header is anonymous and fine; wrong credentials are not."""
        if not header:
            return True, None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False, None
        user, _, password = base64.b64decode(value).decode(errors="replace").partition(":")
        return self.users.get(user) == password, user

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _TokenHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        tokens: TokenServer = self.server.tokens  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        ok, user = tokens.authenticate(self.headers.get("Authorization"))
        body: dict[str, object]
        if url.path != "/token" or query.get("service", [SERVICE]) != [SERVICE]:
            status, body = 404, {"details": "unknown endpoint or service"}
        elif not ok:
            status, body = 401, {"details": "incorrect username or password"}
        else:
            token = make_token(user, scopes)
            issued = dt.datetime.now(dt.UTC).isoformat()
            status = 200
            body = {
                "token": token,
                "access_token": token,
                "expires_in": TOKEN_LIFETIME,
                "issued_at": issued,
            }
        tokens.requests.append(TokenRequest(user, tuple(scopes), status))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the rig's tests read `TokenServer.requests` instead."""
