"""What ``imagebot install`` writes: deploy/'s base for one repository, as a kustomization.

The kustomization (``kustomization_files``) holds deploy/base as shipped in the package (a
byte-for-byte copy of the repository's ``deploy/base``), the known-hosts Secret, the
ImageAutomation and patches for what differs from the base: the namespace where the Deployment
watches and the service account is bound, and the Secret names the Secrets Role may read.
``render`` prints what ``kubectl kustomize`` makes of it, for ``kubectl apply -f -``.

Pure: options in, text out. The group, version and kind of the automation come from the shipped
CRD, so the two cannot disagree. No private key material is ever written: the deploy key is made
by the operator in the cluster.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from base64 import b64decode
from collections.abc import Mapping
from functools import cache
from importlib import resources
from io import StringIO
from typing import Any

from imagebot.errors import UsageError
from imagebot.gitrepo.address import SshEndpoint, ssh_endpoint
from imagebot.gitrepo.deploykey import secret_name
from imagebot.install import kustomize
from imagebot.install.kustomize import Files
from imagebot.records import record

BASE = "base"
DEFAULT_NAMESPACE = "imagebot-system"  # deploy/base's; a test checks that they agree
KNOWN_HOSTS_SUFFIX = "-known-hosts"
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@record
class InstallOptions:
    """``imagebot install``'s flags (fluxctl install's names), checked by ``check``."""

    git_url: str
    automation: str
    namespace: str = DEFAULT_NAMESPACE
    interval: str = "5m"
    git_branch: str | None = None
    git_paths: tuple[str, ...] = ()
    git_user: str | None = None
    git_email: str | None = None
    known_hosts: str | None = None  # the file's text
    registry_secrets: tuple[str, ...] = ()

    @property
    def known_hosts_secret(self) -> str:
        return f"{self.automation}{KNOWN_HOSTS_SUFFIX}"


def automation_name(url: str) -> str:
    """A default automation name: the repository's name (``gitops-demo`` for
    ``git@github.com:me/gitops-demo.git``), as a DNS label."""
    last = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git")
    name = re.sub(r"[^a-z0-9-]+", "-", last.lower()).strip("-")[:50].strip("-")
    return name or "gitops"


def check(options: InstallOptions) -> SshEndpoint | None:
    """``UsageError`` for options that cannot make a working install; the SSH host, if any."""
    for flag, value in (("--namespace", options.namespace), ("--automation", options.automation)):
        if len(value) > 63 or not _DNS_LABEL.fullmatch(value):
            raise UsageError(f"{flag} {value!r}: lower-case letters, digits and '-', at most 63")
    from imagebot.durations import parse_duration
    from imagebot.errors import ConfigError

    if not re.fullmatch(_interval_pattern(), options.interval):
        raise UsageError(
            f"--interval {options.interval!r}: a duration with units, as the CRD takes it "
            "(90s, 5m, 1h30m)"
        )
    try:
        if parse_duration(options.interval) < 1:
            raise UsageError(f"--interval {options.interval!r}: at least 1s")
    except ConfigError as error:
        raise UsageError(f"--interval: {error}") from None
    try:
        endpoint = ssh_endpoint(options.git_url)
    except ConfigError as error:
        raise UsageError(f"--git-url: {error}") from None
    if endpoint is None:
        return None
    if options.known_hosts is None:
        raise UsageError(
            f"--git-url {options.git_url!r} is an SSH URL, and imagebot checks the host's key "
            f"strictly: write it to a file with\n  {endpoint.keyscan}\ncompare its fingerprint "
            "(ssh-keygen -lf known_hosts) with the one your Git host publishes, and give "
            "--known-hosts known_hosts"
        )
    if not names_host(options.known_hosts, endpoint):
        raise UsageError(
            f"--known-hosts has no key for {endpoint.known_hosts_name}: {endpoint.keyscan}"
        )
    return endpoint


def names_host(known_hosts: str, endpoint: SshEndpoint) -> bool:
    """Whether a known_hosts text has a key for the endpoint (plain or hashed names)."""
    wanted = endpoint.known_hosts_name
    for line in known_hosts.splitlines():
        words = line.split()
        if len(words) < 3 or line.lstrip().startswith("#"):
            continue
        if words[0].startswith("@"):  # @cert-authority / @revoked
            words = words[1:]
        for name in words[0].split(","):
            if name == wanted or _hashed_match(name, wanted):
                return True
    return False


def _hashed_match(entry: str, host: str) -> bool:
    """``|1|salt|hash`` entries (ssh-keyscan -H): HMAC-SHA1 of the name keyed by the salt."""
    parts = entry.split("|")
    if len(parts) != 4 or parts[1] != "1":
        return False
    try:
        salt, digest = b64decode(parts[2]), b64decode(parts[3])
    except ValueError:
        return False
    return hmac.compare_digest(hmac.new(salt, host.encode(), hashlib.sha1).digest(), digest)


@cache
def shipped_base() -> dict[str, str]:
    """deploy/base as the package ships it: file name -> text."""
    folder = resources.files("imagebot.install").joinpath("deploy", BASE)
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    }


def kustomization_files(options: InstallOptions) -> Files:
    """The ``--output-dir`` tree: relative path -> text."""
    endpoint = check(options)
    files = {f"{BASE}/{name}": text for name, text in shipped_base().items()}
    resources_ = [BASE]
    if endpoint is not None:
        files["known-hosts.yaml"] = _dump([_known_hosts_secret(options)])
        resources_.append("known-hosts.yaml")
    files["imageautomation.yaml"] = _dump([_automation(options, endpoint is not None)])
    resources_.append("imageautomation.yaml")
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": options.namespace,
        "resources": resources_,
    }
    patches = _patches(options, endpoint is not None)
    if patches:
        kustomization["patches"] = patches
    header = (
        "# Written by `imagebot install`: `kubectl apply -k` this directory.\n"
        "# base/ is imagebot's deploy/base, unchanged; what differs is patched below.\n"
    )
    files["kustomization.yaml"] = header + _dump([kustomization])
    return files


def render(options: InstallOptions) -> str:
    """Every object of the install, as ``kubectl kustomize`` of ``kustomization_files`` makes
    them: for ``kubectl apply -f -``."""
    objects = kustomize.build(kustomization_files(options))
    header = "# Made by `imagebot install`: pipe it to `kubectl apply -f -`.\n"
    return header + _dump(objects)


@cache  # read only: the shipped base does not change while a command runs
def _base_objects() -> list[dict[str, Any]]:
    return kustomize.build({f"{BASE}/{k}": v for k, v in shipped_base().items()}, BASE)


@cache
def _base_namespace() -> str:
    from ruamel.yaml import YAML

    kustomization = YAML(typ="safe", pure=True).load(shipped_base()["kustomization.yaml"])
    return str(kustomization["namespace"])


def _crd_names() -> tuple[str, str]:
    """(apiVersion, kind) of the automation resource, from the shipped CRD."""
    (crd,) = [o for o in _base_objects() if o["kind"] == "CustomResourceDefinition"]
    spec = crd["spec"]
    (version,) = [v["name"] for v in spec["versions"] if v.get("storage")]
    return f"{spec['group']}/{version}", spec["names"]["kind"]


def _interval_pattern() -> str:
    """The pattern the shipped CRD holds ``spec.interval`` to: the API server refuses others."""
    (crd,) = [o for o in _base_objects() if o["kind"] == "CustomResourceDefinition"]
    (version,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return str(spec["properties"]["interval"]["pattern"])


def _automation(options: InstallOptions, ssh: bool) -> dict[str, Any]:
    api_version, kind = _crd_names()
    git: dict[str, Any] = {"url": options.git_url}
    if options.git_branch:
        git["branch"] = options.git_branch
    if options.git_paths:
        git["paths"] = list(options.git_paths)
    if ssh:
        # known_hosts only: with no identity there, the operator makes the deploy key.
        git["secretRef"] = {"name": options.known_hosts_secret}
    author = {
        key: value
        for key, value in (("name", options.git_user), ("email", options.git_email))
        if value
    }
    if author:
        git["author"] = author
    spec: dict[str, Any] = {"interval": options.interval, "git": git}
    if options.registry_secrets:
        spec["registries"] = {"secretRefs": [{"name": n} for n in options.registry_secrets]}
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": options.automation},
        "spec": spec,
    }


def _known_hosts_secret(options: InstallOptions) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": options.known_hosts_secret},
        "stringData": {"known_hosts": options.known_hosts},
    }


def _patches(options: InstallOptions, ssh: bool) -> list[dict[str, Any]]:
    """JSON patches of the base: the Secrets the Role may read, and the namespace."""
    objects = _base_objects()
    patches: list[dict[str, Any]] = []
    readable = [*((options.known_hosts_secret, secret_name(options.automation)) if ssh else ())]
    readable += options.registry_secrets
    for role in (o for o in objects if o["kind"] == "Role"):
        for index, rule in enumerate(role.get("rules") or ()):
            if "secrets" in rule.get("resources", ()) and rule.get("resourceNames"):
                missing = [n for n in readable if n not in rule["resourceNames"]]
                operations = [
                    {"op": "add", "path": f"/rules/{index}/resourceNames/-", "value": name}
                    for name in dict.fromkeys(missing)
                ]
                patches += _patch(role, operations)
    base = _base_namespace()
    if options.namespace == base:
        return patches
    for found in objects:
        if found["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            operations = [
                {"op": "replace", "path": f"/subjects/{i}/namespace", "value": options.namespace}
                for i, subject in enumerate(found.get("subjects") or ())
                if subject.get("namespace") == base
            ]
            patches += _patch(found, operations)
        if found["kind"] == "Deployment":
            containers = found["spec"]["template"]["spec"]["containers"]
            for i, container in enumerate(containers):
                args = [str(a) for a in container.get("args") or ()]
                operations = [
                    {"op": "replace", "path": f"/spec/template/spec/containers/{i}/args/{j + 1}"}
                    | {"value": options.namespace}
                    for j, arg in enumerate(args[:-1])
                    if arg == "--namespace" and args[j + 1] == base
                ]
                patches += _patch(found, operations)
    return patches


def _patch(target: Mapping[str, Any], operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not operations:
        return []
    return [
        {
            "target": {"kind": target["kind"], "name": target["metadata"]["name"]},
            "patch": _dump([operations]),
        }
    ]


def _dump(documents: list[Any]) -> str:
    """YAML in the order the keys were given (``apiVersion`` and ``kind`` first), multi-line
    strings (patches, known_hosts) as literal blocks."""
    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import LiteralScalarString

    def literal(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: literal(item) for key, item in value.items()}
        if isinstance(value, list):
            return [literal(item) for item in value]
        if isinstance(value, str) and "\n" in value.rstrip("\n"):
            return LiteralScalarString(value)
        return value

    documents = [literal(document) for document in documents]
    yaml = YAML(typ="rt", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096  # long known_hosts lines stay on one line
    out = StringIO()
    yaml.dump_all(documents, out)
    text = out.getvalue()
    return text if len(documents) == 1 else "---\n" + text
