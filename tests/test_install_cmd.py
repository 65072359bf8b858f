"""``imagebot install`` (issue 19): the seed's ``fluxctl install`` step, made from deploy/.

The package ships deploy/base byte for byte; ``--output-dir`` writes a kustomization over it whose
objects (``kubectl kustomize DIR``) have deploy/'s names, namespace and args, plus the
known-hosts Secret and the ImageAutomation; stdout is the same objects, built without kubectl.
An SSH URL without ``--known-hosts`` exits 2 with the ``ssh-keyscan`` command. No private key
material is printed or written anywhere.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from imagebot.cli import cli
from imagebot.controller.spec import parse_spec
from imagebot.install.render import DEFAULT_NAMESPACE
from tests.controller_support import DEPLOY, rendered_deploy

PACKAGED = Path(__file__).resolve().parent.parent / "imagebot" / "install" / "deploy" / "base"
SSH_URL = "ssh://git@127.0.0.1:2222/srv/gitops-demo.git"
KNOWN = "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPretendHostKey\n"


def install(*args: str) -> Result:
    return CliRunner().invoke(cli, ["install", *args])


def known_hosts(tmp_path: Path, text: str = KNOWN) -> str:
    path = tmp_path / "known_hosts"
    path.write_text(text)
    return str(path)


def keys(objects: list[dict[str, Any]]) -> set[tuple[str, str, str | None]]:
    return {(o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")) for o in objects}


def container_args(objects: list[dict[str, Any]]) -> list[str]:
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return [str(a) for a in container["args"]]


def test_the_package_ships_deploy_base_byte_for_byte() -> None:
    ours = {p.name: p.read_bytes() for p in PACKAGED.iterdir() if p.is_file()}
    theirs = {p.name: p.read_bytes() for p in (DEPLOY / "base").iterdir() if p.is_file()}
    assert sorted(ours) == sorted(theirs), "imagebot/install/deploy/base lists other files"
    drifted = sorted(name for name in ours if ours[name] != theirs[name])
    assert not drifted, (
        f"imagebot/install/deploy/base/{drifted} differ from deploy/base: deploy/ is the source; "
        "run `cp deploy/base/*.yaml imagebot/install/deploy/base/`"
    )
    namespace = yaml.safe_load((DEPLOY / "base" / "kustomization.yaml").read_text())["namespace"]
    assert namespace == DEFAULT_NAMESPACE


@pytest.mark.rig  # kubectl kustomize
@pytest.mark.parametrize("namespace", [None, "flux"], ids=["default", "flux"])
def test_output_dir_builds_deploys_objects_names_namespace_and_args(
    tmp_path: Path, namespace: str | None
) -> None:
    out = tmp_path / "imagebot"
    extra = ["--namespace", namespace] if namespace else []
    result = install(
        "--git-url", SSH_URL, "--known-hosts", known_hosts(tmp_path), "-o", str(out), *extra
    )
    assert result.exit_code == 0, result.output
    assert f"kubectl apply -k {out}" in result.stderr
    for name in (p.name for p in (DEPLOY / "base").iterdir()):
        assert (out / "base" / name).read_bytes() == (DEPLOY / "base" / name).read_bytes()
    ours, deploy = rendered_deploy(out), rendered_deploy(DEPLOY)
    where = namespace or DEFAULT_NAMESPACE

    def moved(found: tuple[str, str, str | None]) -> tuple[str, str, str | None]:
        kind, name, space = found
        if kind == "Namespace":
            return kind, where, space
        return kind, name, where if space else None

    added = {
        ("Secret", "gitops-demo-known-hosts", where),
        ("ImageAutomation", "gitops-demo", where),
    }
    assert keys(ours) == {moved(k) for k in keys(deploy)} | added
    wanted = [where if arg == DEFAULT_NAMESPACE else arg for arg in container_args(deploy)]
    assert container_args(ours) == wanted
    for binding in (o for o in ours if o["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        assert {s["namespace"] for s in binding["subjects"]} == {where}
    (role,) = [o for o in ours if o["kind"] == "Role"]
    readable = {n for rule in role["rules"] for n in rule.get("resourceNames", ())}
    assert {"gitops-demo-known-hosts", "gitops-demo-deploy-key"} <= readable
    (automation,) = [o for o in ours if o["kind"] == "ImageAutomation"]
    spec = parse_spec(automation["spec"])
    assert spec.git_secret == "gitops-demo-known-hosts"
    assert spec.interval_seconds == 300
    (secret,) = [o for o in ours if o["kind"] == "Secret"]
    assert secret["stringData"] == {"known_hosts": KNOWN}


@pytest.mark.rig  # kubectl kustomize
def test_stdout_is_what_kubectl_builds_from_the_output_dir(tmp_path: Path) -> None:
    args = [
        "--git-url", SSH_URL, "--known-hosts", known_hosts(tmp_path), "--namespace", "flux",
        "--git-branch", "main", "--git-path", "apps", "--git-path", "clusters/prod",
        "--git-user", "me", "--git-email", "me@users.noreply.github.com",
        "--interval", "90s", "--registry-secret", "regcred", "--automation", "demo",
    ]  # fmt: skip
    printed = install(*args)
    assert printed.exit_code == 0, printed.output
    written = install(*args, "--output-dir", str(tmp_path / "out"))
    assert written.exit_code == 0, written.output
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(tmp_path / "out")], check=True, capture_output=True, text=True
    ).stdout
    theirs = [d for d in yaml.safe_load_all(rendered) if d]
    ours = [d for d in yaml.safe_load_all(printed.stdout) if d]
    assert ours == theirs
    (automation,) = [o for o in ours if o["kind"] == "ImageAutomation"]
    assert automation["spec"] == {
        "interval": "90s",
        "git": {
            "url": SSH_URL,
            "branch": "main",
            "paths": ["apps", "clusters/prod"],
            "secretRef": {"name": "demo-known-hosts"},
            "author": {"name": "me", "email": "me@users.noreply.github.com"},
        },
        "registries": {"secretRefs": [{"name": "regcred"}]},
    }
    (role,) = [o for o in ours if o["kind"] == "Role"]
    assert {"demo-known-hosts", "demo-deploy-key", "regcred"} <= {
        n for rule in role["rules"] for n in rule.get("resourceNames", ())
    }


@pytest.mark.parametrize(
    ("url", "keyscan"),
    [
        ("git@github.com:me/gitops-demo", "ssh-keyscan github.com > known_hosts"),
        (SSH_URL, "ssh-keyscan -p 2222 127.0.0.1 > known_hosts"),
        ("ssh://git@gitlab.example/me/gitops.git", "ssh-keyscan gitlab.example > known_hosts"),
    ],
)
def test_an_ssh_url_without_known_hosts_exits_2_with_the_keyscan_command(
    url: str, keyscan: str, tmp_path: Path
) -> None:
    result = install("--git-url", url, "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert f"\n  {keyscan}\n" in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()


def test_known_hosts_without_the_url_host_exits_2(tmp_path: Path) -> None:
    other = known_hosts(tmp_path, "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOther\n")
    result = install("--git-url", SSH_URL, "--known-hosts", other)
    assert result.exit_code == 2
    assert "has no key for [127.0.0.1]:2222" in result.stderr


@pytest.mark.rig  # ssh-keygen
def test_hashed_known_hosts_entries_name_the_host(tmp_path: Path) -> None:
    path = known_hosts(tmp_path)
    subprocess.run(["ssh-keygen", "-H", "-f", path], check=True, capture_output=True)
    assert Path(path).read_text().startswith("|1|")
    assert install("--git-url", SSH_URL, "--known-hosts", path).exit_code == 0


def test_an_https_url_needs_no_known_hosts_and_gets_no_deploy_key() -> None:
    result = install("--git-url", "https://github.com/me/gitops-demo.git")
    assert result.exit_code == 0, result.output
    objects = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert not [o for o in objects if o["kind"] == "Secret"]
    (automation,) = [o for o in objects if o["kind"] == "ImageAutomation"]
    assert automation["metadata"] == {"name": "gitops-demo", "namespace": DEFAULT_NAMESPACE}
    assert "secretRef" not in automation["spec"]["git"]


def test_no_private_key_material_is_printed_or_written(tmp_path: Path) -> None:
    path = known_hosts(tmp_path)
    printed = install("--git-url", SSH_URL, "--known-hosts", path)
    written = install("--git-url", SSH_URL, "--known-hosts", path, "-o", str(tmp_path / "o"))
    texts = [printed.output, written.output]
    texts += [p.read_text() for p in (tmp_path / "o").rglob("*") if p.is_file()]
    for text in texts:
        assert "PRIVATE KEY" not in text
    objects = [d for d in yaml.safe_load_all(printed.stdout) if d]
    (secret,) = [o for o in objects if o["kind"] == "Secret"]
    assert set(secret["stringData"]) == {"known_hosts"} and "data" not in secret


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--namespace", "Flux"], "--namespace 'Flux'"),
        (["--automation", "a_b"], "--automation 'a_b'"),
        (["--interval", "soon"], "--interval"),
        (["--interval", "500ms"], "at least 1s"),
        (["--interval", "90"], "a duration with units, as the CRD takes it"),
    ],
)
def test_bad_values_exit_2_naming_the_flag(args: list[str], message: str) -> None:
    result = install("--git-url", "https://github.com/me/gitops-demo.git", *args)
    assert result.exit_code == 2
    assert message in result.stderr
