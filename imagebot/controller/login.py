"""Where the operator's Kubernetes credentials come from, for kopf and for imagebot's own client.

The same rules as ``kubectl`` and kopf's ``login_via_client``: an explicit ``--kubeconfig`` or
``--context`` means that kubeconfig; otherwise the in-cluster service account when the pod's
environment names an API server, else ``KUBECONFIG`` or ``~/.kube/config``. The official client
library does the reading (exec plugins, auth providers, ``tokenFile``, client certificates), so
imagebot interprets nothing it would have to keep in step with Kubernetes.

Bound service-account tokens rotate. kopf logs in again on any 401 and ``login`` re-reads the
files each time; imagebot's own client re-reads them whenever one changes on disk (``refreshing``),
so a rotated token is used without a restart by both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from imagebot.errors import ConfigError
from imagebot.records import record
from imagebot.redact import remember

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@record
class Login:
    """How to log in: ``imagebot controller``'s ``--kubeconfig``/``--context`` and the env."""

    kubeconfig: str | None = None
    context: str | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    service_account: Path = SERVICE_ACCOUNT  # tests mount their own token and CA elsewhere

    @property
    def in_cluster(self) -> bool:
        """True when the service account is the source: a pod, and no kubeconfig asked for."""
        explicit = self.kubeconfig is not None or self.context is not None
        return not explicit and bool(self.environ.get("KUBERNETES_SERVICE_HOST"))

    def describe(self) -> str:
        """Where the credentials come from, for the start-up log line (no secret in it)."""
        if self.in_cluster:
            return f"in-cluster service account ({self.service_account})"
        names = os.pathsep.join(str(path) for path in self.kubeconfig_paths())
        return f"kubeconfig {names}" + (f", context {self.context}" if self.context else "")

    def kubeconfig_paths(self) -> list[Path]:
        """The kubeconfig files in merge order (``KUBECONFIG`` may list several)."""
        listed = self.kubeconfig or self.environ.get("KUBECONFIG") or "~/.kube/config"
        return [Path(part).expanduser() for part in listed.split(os.pathsep) if part.strip()]

    def watched(self) -> list[Path]:
        """Files whose change means new credentials: token, CA, kubeconfigs and token files."""
        if self.in_cluster:
            return [self.service_account / "token", self.service_account / "ca.crt"]
        paths = self.kubeconfig_paths()
        for path in list(paths):
            paths.extend(_token_files(path))
        return paths


def _token_files(kubeconfig: Path) -> list[Path]:
    """Every ``tokenFile`` a kubeconfig's users name, relative to the kubeconfig's folder."""
    try:
        document = YAML(typ="safe").load(kubeconfig.read_text(encoding="utf-8")) or {}
    except (OSError, YAMLError):
        return []
    found = []
    for user in document.get("users") or [] if isinstance(document, dict) else []:
        token_file = ((user or {}).get("user") or {}).get("tokenFile")
        if isinstance(token_file, str) and token_file:
            found.append(kubeconfig.parent / Path(token_file).expanduser())
    return found


def configuration(login: Login) -> Any:
    """A fresh ``kubernetes.client.Configuration`` from ``login``'s source, read now.

    Raises ConfigError (exit 2) with one line naming what was tried when nothing is usable.
    """
    from kubernetes import client, config

    loaded = client.Configuration()
    paths = login.kubeconfig_paths()
    if not login.in_cluster and not any(path.is_file() for path in paths):
        names = ", ".join(str(path) for path in paths)
        raise ConfigError(
            f"no Kubernetes credentials: no kubeconfig at {names} and not in a cluster "
            "(KUBERNETES_SERVICE_HOST is unset); give --kubeconfig or set KUBECONFIG"
        )
    try:
        if login.in_cluster:
            config.incluster_config.InClusterConfigLoader(  # type: ignore[no-untyped-call]
                token_filename=str(login.service_account / "token"),
                cert_filename=str(login.service_account / "ca.crt"),
                environ=login.environ,
            ).load_and_set(loaded)
        else:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=os.pathsep.join(str(path) for path in paths),
                context=login.context,
                client_configuration=loaded,
                persist_config=False,
            )
    except Exception as error:  # a malformed kubeconfig fails in any way at all
        where = "the in-cluster service account" if login.in_cluster else "the kubeconfig"
        reason = " ".join(str(error).split()) or type(error).__name__  # one line, always
        raise ConfigError(f"no usable Kubernetes credentials from {where}: {reason}") from error
    remember(_bearer(loaded)[1])
    return loaded


def _bearer(loaded: Any) -> tuple[str | None, str | None]:
    """(scheme, token) of the Authorization the client would send, as kopf splits it."""
    header = loaded.get_api_key_with_prefix("BearerToken") or loaded.get_api_key_with_prefix(
        "authorization"
    )
    parts = header.split(" ", 1) if header else []
    if len(parts) == 2:
        return parts[0], parts[1]
    return None, (parts[0] if parts else None)


def connection_info(login: Login) -> Any:
    """kopf's ``ConnectionInfo`` for ``login``, read afresh (kopf calls it again after a 401)."""
    import kopf

    loaded = configuration(login)
    scheme, token = _bearer(loaded)
    return kopf.ConnectionInfo(
        server=loaded.host,
        ca_path=loaded.ssl_ca_cert,
        insecure=not loaded.verify_ssl,
        username=loaded.username or None,
        password=loaded.password or None,
        scheme=scheme,
        token=token,
        certificate_path=loaded.cert_file,
        private_key_path=loaded.key_file,
    )


def _stamp(paths: list[Path]) -> tuple[tuple[int, int] | None, ...]:
    stamps: list[tuple[int, int] | None] = []
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            stamps.append(None)
        else:
            stamps.append((info.st_mtime_ns, info.st_size))
    return tuple(stamps)


def refreshing(login: Login) -> Any:
    """A Configuration for imagebot's own ApiClient that follows credential files as they change.

    The client calls ``refresh_api_key_hook`` before each request: a few ``stat`` calls. When a
    watched file changed (a rotated token, an edited kubeconfig) the credentials are read again;
    otherwise the client library's own refresh (exec plugins, expiring tokens) still runs.
    """
    source = configuration(login)
    target = _copy(source)
    paths = login.watched()
    state = {"stamp": _stamp(paths), "source": source}

    def refresh(client_configuration: Any) -> None:
        stamp = _stamp(paths)
        current = state["source"]
        if stamp != state["stamp"]:
            try:
                current = state["source"] = configuration(login)
                state["stamp"] = stamp
            except ConfigError:
                pass  # a file half-written during rotation: keep the last good token, retry next
        else:
            inner: Callable[[Any], None] | None = current.refresh_api_key_hook
            if inner is not None:
                inner(current)  # the library's hook re-binds itself on ``current`` only
        client_configuration.api_key = dict(current.api_key)
        client_configuration.api_key_prefix = dict(current.api_key_prefix)

    target.refresh_api_key_hook = refresh
    return target


def _copy(source: Any) -> Any:
    """A Configuration with ``source``'s server and TLS settings and no refresh hook of its own."""
    from kubernetes import client

    copied = client.Configuration()
    for name in (
        "host",
        "ssl_ca_cert",
        "cert_file",
        "key_file",
        "verify_ssl",
        "tls_server_name",
        "proxy",
        "username",
        "password",
    ):
        setattr(copied, name, getattr(source, name, None))
    copied.api_key = dict(source.api_key)
    copied.api_key_prefix = dict(source.api_key_prefix)
    return copied
