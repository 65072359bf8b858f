"""A TLS front for a plain-HTTP loopback server: what a pod sees of the Kubernetes API server.

Inside a cluster the API server speaks HTTPS only, with a certificate signed by the cluster's CA
(the pod's ``ca.crt``). The test API server (kmock) speaks plain HTTP, so ``TlsFront`` terminates
TLS on a loopback port with a certificate for 127.0.0.1 from a CA made here, and relays the bytes
both ways to the upstream port: watches, keep-alive and chunked bodies pass untouched. It counts
the connections it relayed, so a test can tell that its client really came through TLS.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Certificates:
    """A CA and a server certificate for 127.0.0.1 it signed, all as PEM."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


def make_certificates() -> Certificates:
    """A throw-away CA and a server certificate (SAN IP 127.0.0.1), valid for one day."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imagebot test cluster CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    return Certificates(
        ca_pem=ca.public_bytes(serialization.Encoding.PEM),
        cert_pem=server.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@dataclass
class TlsFront:
    """A running front; ``port`` takes TLS on 127.0.0.1, ``url`` is ``https://127.0.0.1:PORT``."""

    upstream: tuple[str, int]
    certificates: Certificates
    port: int = 0
    connections: int = 0  # TLS handshakes completed and relayed upstream
    _listener: socket.socket | None = field(default=None, repr=False)
    _open: set[socket.socket] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> TlsFront:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as where:  # ssl loads the chain from files only
            cert, key = Path(where) / "tls.crt", Path(where) / "tls.key"
            cert.write_bytes(self.certificates.cert_pem)
            key.write_bytes(self.certificates.key_pem)
            context.load_cert_chain(cert, key)
        listener = socket.create_server(("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(
            target=self._accept, args=(listener, context), name="tls-front", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._open:
                _close(sock)
            self._open.clear()

    def _accept(self, listener: socket.socket, context: ssl.SSLContext) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by stop()
                return
            threading.Thread(
                target=self._serve, args=(client, context), name="tls-front-conn", daemon=True
            ).start()

    def _serve(self, client: socket.socket, context: ssl.SSLContext) -> None:
        try:
            client.settimeout(10)
            secure = context.wrap_socket(client, server_side=True)
            secure.settimeout(None)
            upstream = socket.create_connection(self.upstream, timeout=10)
            upstream.settimeout(None)
        except OSError:  # a failed handshake is the client's business (it sees the error)
            _close(client)
            return
        with self._lock:
            self.connections += 1
            self._open.update((secure, upstream))
        threading.Thread(
            target=_pump, args=(upstream, secure), name="tls-front-down", daemon=True
        ).start()
        _pump(secure, upstream)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy ``source`` to ``sink`` until either side ends, then close both."""
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    _close(source)
    _close(sink)


def _close(sock: socket.socket) -> None:
    """Shut down, then close: a bare close() neither wakes the other pump's blocked recv() nor
    sends the FIN that tells the API server its watch client is gone."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
