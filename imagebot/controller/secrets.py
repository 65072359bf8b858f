"""Turn an ``AutomationSpec`` into ``Settings`` for one cycle, reading the Secrets it names.

Registry logins from docker-config Secrets are parsed (``DockerConfig.from_secret``) and handed
over inside the settings' host entries. SSH keys, known_hosts and signing keys are written to a
private temporary directory (0700, files 0600) that exists only while the cycle runs, because
git takes paths. An SSH URL whose Secret holds no identity uses the automation's deploy key,
which the caller reads or makes (``controller/deploykeys.py``) only when it is needed. Secret
values are never logged or put in error messages; errors name the Secret and the key only.
Reading goes through ``SecretReader`` so tests can use a real API server.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from imagebot.config import GitSettings, Receiver, RegistryHost, RegistrySettings, Settings
from imagebot.controller.kube import SecretsApi, kube_call
from imagebot.controller.spec import AutomationSpec
from imagebot.errors import ConfigError
from imagebot.gitrepo.address import is_ssh_url
from imagebot.gitrepo.deploykey import DeployKey
from imagebot.redact import remember
from imagebot.refs import normalize_registry
from imagebot.registry import Credentials, DockerConfig
from imagebot.settings.values import receiver_problem

DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"
DeployKeySource = Callable[[], DeployKey]
"""Reads (or makes) the automation's deploy key; called only when an SSH URL needs one."""


class SecretReader(Protocol):
    """Reads one Secret: its type and its decoded data (key -> bytes)."""

    def read(self, namespace: str, name: str) -> tuple[str, dict[str, bytes]]: ...


class KubernetesSecretReader:
    """``SecretReader`` over the API server (``get`` on secrets only)."""

    def __init__(self, api: SecretsApi) -> None:
        self._api = api

    def read(self, namespace: str, name: str) -> tuple[str, dict[str, bytes]]:
        where = f"Secret {namespace}/{name}"
        messages = {
            404: f"{where} does not exist",
            403: f"imagebot may not read {where}; grant get on it in the controller's Role",
        }
        with kube_call(f"get {where}", messages):
            secret = self._api.read(namespace, name)
        data = {key: base64.b64decode(value) for key, value in (secret.get("data") or {}).items()}
        return secret.get("type") or "Opaque", data


@contextmanager
def cycle_settings(
    spec: AutomationSpec,
    namespace: str,
    secrets: SecretReader,
    deploy_key: DeployKeySource | None = None,
) -> Iterator[Settings]:
    """Settings for one cycle; the temporary credential files vanish when the block ends.

    An SSH URL whose Secret holds no ``identity`` (or that names no Secret) uses the deploy key
    from ``deploy_key``, and still needs ``known_hosts`` from the Secret: host keys are always
    checked.
    """
    with tempfile.TemporaryDirectory(prefix="imagebot-cycle-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o700)
        yield replace(
            spec.settings,
            git=_git_settings(spec, namespace, secrets, workdir, deploy_key),
            registries=_registry_settings(spec, namespace, secrets),
        )


def _git_settings(
    spec: AutomationSpec,
    namespace: str,
    secrets: SecretReader,
    workdir: Path,
    deploy_key: DeployKeySource | None,
) -> GitSettings:
    git = spec.settings.git
    ssh = is_ssh_url(git.repo)
    data: dict[str, bytes] = {}
    if spec.git_secret:
        _, data = secrets.read(namespace, spec.git_secret)
    if ssh and "identity" not in data and deploy_key is not None:
        git = _with_deploy_key(git, spec, namespace, data, workdir, deploy_key())
        return _with_signing(git, spec, namespace, secrets, workdir)
    if spec.git_secret:
        where = f"Secret {namespace}/{spec.git_secret}"
        if "identity" in data:
            git = replace(git, ssh_key_file=_private_file(workdir, "identity", data["identity"]))
            if "known_hosts" not in data:
                raise ConfigError(f"{where} has an SSH identity but no known_hosts key")
            known = _private_file(workdir, "known_hosts", data["known_hosts"])
            git = replace(git, known_hosts_file=known)
        token = data.get("token") or data.get("password")
        if token is not None:
            git = replace(git, token=token.decode().strip())
        if "identity" not in data and token is None:
            raise ConfigError(f"{where} needs identity + known_hosts (SSH) or token (HTTPS)")
    return _with_signing(git, spec, namespace, secrets, workdir)


def _with_deploy_key(  # noqa: PLR0917 - the cycle's state, passed on
    git: GitSettings,
    spec: AutomationSpec,
    namespace: str,
    data: dict[str, bytes],
    workdir: Path,
    key: DeployKey,
) -> GitSettings:
    """``git`` with the operator's deploy key and the known_hosts of the automation's Secret
    (``data``): ssh checks the host key whoever made the client key."""
    git = replace(git, ssh_key_file=_private_file(workdir, "identity", key.private))
    if not spec.git_secret:
        raise ConfigError(
            "spec.git.secretRef: an SSH URL needs a Secret with known_hosts (the deploy key "
            "is made for you; `imagebot install --known-hosts FILE` writes both)"
        )
    if "known_hosts" not in data:
        raise ConfigError(
            f"Secret {namespace}/{spec.git_secret} has no known_hosts key: ssh checks the "
            "Git host's key against it (ssh-keyscan HOST > known_hosts)"
        )
    return replace(git, known_hosts_file=_private_file(workdir, "known_hosts", data["known_hosts"]))


def _with_signing(
    git: GitSettings, spec: AutomationSpec, namespace: str, secrets: SecretReader, workdir: Path
) -> GitSettings:
    """``git`` with the signing key's file, if the spec names a Secret for one."""
    if not spec.signing_secret:
        return git
    _, data = secrets.read(namespace, spec.signing_secret)
    if "signing.key" not in data:
        raise ConfigError(f"Secret {namespace}/{spec.signing_secret} has no signing.key key")
    return replace(git, signing_key=_private_file(workdir, "signing.key", data["signing.key"]))


def _registry_settings(
    spec: AutomationSpec, namespace: str, secrets: SecretReader
) -> RegistrySettings:
    """The spec's registry settings with the logins of its docker-config Secrets merged into the
    host entries, as objects: no file is written and read back."""
    registries = spec.settings.registries
    logins: dict[str, Credentials] = {}
    for name in spec.registry_secrets:
        kind, data = secrets.read(namespace, name)
        if kind != DOCKERCONFIGJSON or ".dockerconfigjson" not in data:
            raise ConfigError(
                f"Secret {namespace}/{name} must be of type {DOCKERCONFIGJSON} "
                "(kubectl create secret docker-registry ...)"
            )
        try:
            config = DockerConfig.from_secret(data[".dockerconfigjson"])
        except ConfigError as error:
            raise ConfigError(f"Secret {namespace}/{name}: {error}") from None
        found = config.logins()
        if not found:
            raise ConfigError(f"Secret {namespace}/{name}: .dockerconfigjson has no auths entry")
        logins.update(found)  # later Secrets win, as their auths did when merged
    if not logins:
        return registries
    hosts = {normalize_registry(host.host): host for host in registries.hosts}
    for host, login in logins.items():
        entry = hosts.get(host) or RegistryHost(host=host)
        hosts[host] = replace(
            entry,
            username=login.username,
            password=login.password,
            token=login.registry_token,
            identity_token=login.identity_token,
        )
    return replace(registries, hosts=tuple(hosts.values()))


def resolve_receivers(
    spec: AutomationSpec, namespace: str, secrets: SecretReader
) -> tuple[Receiver, ...]:
    """The spec's notification receivers with their Secrets read: ``address`` (the URL, which
    for Slack is the credential) and ``token`` (generic-hmac's key), as Flux's Provider Secrets
    hold them. Both are remembered by the redactor before anything could print them."""
    found = []
    for index, written in enumerate(spec.settings.notifications):
        receiver, where = written, "the spec"
        if written.secret_ref:
            where = f"Secret {namespace}/{written.secret_ref}"
            _, data = secrets.read(namespace, written.secret_ref)
            address, token = data.get("address"), data.get("token")
            receiver = replace(
                written,
                address=address.decode(errors="replace").strip() if address else written.address,
                token=token.decode(errors="replace").strip() if token else written.token,
            )
            remember(*receiver.secrets)
        problem = receiver_problem(receiver, resolved=True)
        if problem is not None:
            raise ConfigError(f"spec.notifications[{index}] ({where}): {problem}")
        found.append(receiver)
    return tuple(found)


def _private_file(workdir: Path, name: str, content: bytes) -> str:
    path = workdir / name
    # Created 0600 from the start: never readable by others, not even for an instant.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content if content.endswith(b"\n") else content + b"\n")
    return str(path)
