"""Deploy keys: one ed25519 key pair per automation, as Flux v1 made one per repository.

An automation that names no SSH identity gets a key pair the operator makes and keeps in a
Secret of the automation's namespace (``secret_name``); ``imagebot identity`` prints its public
half for the Git host. The pair lives in the Secret under the keys Flux v2's Git Secrets use
(``identity``, ``identity.pub``), so the same Secret also works as a plain ``secretRef``.

Pure apart from the random numbers: no file, no subprocess (``cryptography`` writes the OpenSSH
format that ``ssh`` reads). The private half never appears in a ``repr`` and is ``remember``ed
by the redactor the moment it exists, so no log line, event or status can carry it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import field

from imagebot.errors import ConfigError
from imagebot.records import record
from imagebot.redact import remember

PRIVATE_KEY = "identity"
PUBLIC_KEY = "identity.pub"
SECRET_SUFFIX = "-deploy-key"  # noqa: S105 - a name, not a secret
MAX_NAME = 253  # a Secret's name is a DNS subdomain
_OPENSSH_PRIVATE = b"-----BEGIN OPENSSH PRIVATE KEY-----"
_PUBLIC_LINE = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) ([A-Za-z0-9+/]+=*)( .*)?$")


@record
class DeployKey:
    """A key pair: ``public`` is the ``ssh-ed25519 AAAA... comment`` line for the Git host."""

    public: str
    private: bytes = field(repr=False)

    @property
    def fingerprint(self) -> str:
        """``SHA256:...``, as ``ssh-keygen -lf`` and GitHub's deploy key page show it."""
        return fingerprint(self.public)

    def secret_data(self) -> dict[str, str]:
        """The Secret's ``data`` (base64), in Flux v2's Git Secret keys."""
        return {
            PRIVATE_KEY: base64.b64encode(self.private).decode(),
            PUBLIC_KEY: base64.b64encode(self.public.encode() + b"\n").decode(),
        }


def secret_name(automation: str) -> str:
    """The Secret holding the deploy key of the automation ``automation``."""
    name = f"{automation}{SECRET_SUFFIX}"
    if len(name) > MAX_NAME:
        raise ConfigError(
            f"the automation name {automation!r} is too long for its deploy key Secret "
            f"({name!r} would exceed {MAX_NAME} characters)"
        )
    return name


def generate(comment: str) -> DeployKey:
    """A fresh ed25519 key pair, private half in OpenSSH format without a passphrase."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    _remember_private(private)
    line = public.decode()
    clean = re.sub(r"\s+", "-", comment.strip())
    return DeployKey(public=f"{line} {clean}" if clean else line, private=private)


def from_secret(data: Mapping[str, bytes], where: str) -> DeployKey:
    """The key pair in a Secret's decoded data; ``where`` names the Secret in errors (which
    never quote the data)."""
    private, public = data.get(PRIVATE_KEY), data.get(PUBLIC_KEY)
    if not private or not public:
        raise ConfigError(f"{where} needs both {PRIVATE_KEY} and {PUBLIC_KEY}")
    _remember_private(private)
    if not private.lstrip().startswith(_OPENSSH_PRIVATE):
        raise ConfigError(f"{where}: {PRIVATE_KEY} is not an OpenSSH private key")
    line = public.decode(errors="replace").strip()
    if not _PUBLIC_LINE.match(line):
        raise ConfigError(f"{where}: {PUBLIC_KEY} is not an SSH public key line")
    return DeployKey(public=line, private=private)


def fingerprint(public: str) -> str:
    """``SHA256:`` and the unpadded base64 of the SHA-256 of the key blob."""
    found = _PUBLIC_LINE.match(public.strip())
    if not found:
        raise ConfigError("not an SSH public key line")
    blob = base64.b64decode(found[2])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def is_private(text: str) -> bool:
    """Whether ``text`` carries a private key block of any kind (the CLI checks its output)."""
    return "PRIVATE KEY-----" in text


def _remember_private(private: bytes) -> None:
    """Mask the key and each of its base64 lines wherever this process writes text."""
    text = private.decode(errors="replace")
    remember(text.strip(), *(line.strip() for line in text.splitlines() if "-----" not in line))
