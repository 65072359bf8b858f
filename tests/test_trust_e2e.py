"""`imagebot run` end to end against lying and echoing servers (issue 12 cases 5 and 6).

A token server that echoes the credentials it got must not get them printed, in text or JSON, in
logs or in Git; a registry that lies about a digest must not get its lie committed.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from tests.leaks import assert_no_leaks, forms, git_dirs_under
from tests.rig import ImagePusher, RegistryServer
from tests.rig.git import GitHttpServer, run_git
from tests.rig.proxy import Exchange, Proxy, start_proxy
from tests.run_support import T0, imagebot, workload

ZERO = "sha256:" + "0" * 64


def echo_credentials(exchange: Exchange) -> Exchange:
    """A token server that answers 400 and quotes what it was sent, decoded too."""
    header = exchange.request_headers.get("Authorization", "")
    decoded = base64.b64decode(header.partition(" ")[2] or b"").decode(errors="replace")
    message = f"bad login {decoded} from Authorization: {header}"
    exchange.status = 400
    exchange.headers = {"Content-Type": "application/json"}
    exchange.body = json.dumps({"errors": [{"code": "DENIED", "message": message}]}).encode()
    return exchange


def realm_to(echo: Proxy) -> Callable[[Exchange], Exchange]:
    def rewrite(exchange: Exchange) -> Exchange:
        challenge = exchange.headers.get("Www-Authenticate") or exchange.headers.get(
            "WWW-Authenticate"
        )
        if exchange.status == 401 and challenge:
            exchange.headers = {
                k: v for k, v in exchange.headers.items() if k.lower() != "www-authenticate"
            }
            exchange.headers["WWW-Authenticate"] = (
                f'Bearer realm="{echo.url}/token",service="imagebot-rig-registry"'
            )
        return exchange

    return rewrite


def test_an_echoing_token_server_gets_no_credential_printed_anywhere(
    token_auth_registry: RegistryServer,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    proxies: list[Proxy],
    tmp_path: Path,
) -> None:
    """Issue 12 case 5: user:password echoed by a token server reached stdout and JSON."""
    repo = f"private/{unique_repo.replace('/', '-')}"
    with ImagePusher(token_auth_registry) as images:
        images.push_tags(repo, {"1.0.0": T0, "1.1.0": T0 + timedelta(days=1)})
    echo = start_proxy(None)
    echo.rewrite = echo_credentials
    front = start_proxy(token_auth_registry.url)
    front.rewrite = realm_to(echo)
    proxies += [echo, front]
    user, password = "robot", f"pw-{uuid.uuid4().hex}"
    config = tmp_path / "imagebot.yaml"
    config.write_text(
        f"registries:\n  hosts:\n    {front.host}:\n      username: {user}\n"
        "      passwordEnv: TRUST_REGISTRY_PASSWORD\n"
    )
    manifest = workload("app", f"{front.host}/{repo}:1.0.0", "semver:~1")
    remote = bare_remote({"app.yaml": manifest.encode()})
    env = {"TRUST_REGISTRY_PASSWORD": password}
    common = ("run", "--repo", remote.as_uri(), "--config", str(config))

    as_json = imagebot(*common, "--output", "json", tmp_path=tmp_path, env=env, check=False)
    as_text = imagebot(*common, tmp_path=tmp_path, env=env, check=False)

    problems = json.loads(as_json.stdout)["problems"]
    assert any("DENIED: bad login" in p["message"] for p in problems), problems
    assert "bad login" in as_text.stdout
    assert any(
        password in str(seen.headers) or "Authorization" in seen.headers for seen in echo.seen
    )  # fmt: skip - the echo really got the credentials
    assert_no_leaks(
        forms(password, user),
        texts={
            "json stdout": as_json.stdout,
            "json stderr": as_json.stderr,
            "text stdout": as_text.stdout,
            "text stderr": as_text.stderr,
        },
        git_dirs=git_dirs_under(remote, tmp_path / "cache"),
    )


def _lie_on_head(exchange: Exchange) -> Exchange:
    if exchange.method == "HEAD" and "/manifests/" in exchange.path:
        exchange.headers = {
            k: v for k, v in exchange.headers.items() if k.lower() != "docker-content-digest"
        }
        exchange.headers["Docker-Content-Digest"] = ZERO
    return exchange


def test_a_lying_digest_is_never_committed_and_the_true_one_is_once_the_lie_stops(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    proxies: list[Proxy],
    tmp_path: Path,
) -> None:
    """Issue 12 case 6: a proxy answering HEAD with sha256:000... got that digest committed."""
    proxy = start_proxy(registry.url)
    proxies.append(proxy)
    first = pusher.push_image(unique_repo, "1.0.0", created=T0)
    # semver needs no creation times, so the chosen tag's digest comes from a HEAD
    manifest = workload("app", f"{proxy.host}/{unique_repo}:1.0.0@{first}", "semver:~1")
    remote = bare_remote({"app.yaml": manifest.encode()})
    args = ("run", "--repo", remote.as_uri(), "--output", "json")
    second = pusher.push_image(unique_repo, "1.1.0", created=T0 + timedelta(hours=1))

    proxy.rewrite = _lie_on_head
    lied = json.loads(imagebot(*args, tmp_path=tmp_path, check=False).stdout)
    assert lied["changes"] == [] and lied["commit"] is None
    assert any("refused" in p["message"] for p in lied["problems"]), lied["problems"]
    assert ZERO not in run_git("--git-dir", str(remote), "log", "-p", "main")

    proxy.rewrite = None
    honest = json.loads(imagebot(*args, tmp_path=tmp_path).stdout)
    assert [c["new"] for c in honest["changes"]] == [f"{proxy.host}/{unique_repo}:1.1.0@{second}"]
    assert run_git("--git-dir", str(remote), "show", "main:app.yaml") == manifest.replace(
        f"1.0.0@{first}", f"1.1.0@{second}"
    )


@pytest.mark.usefixtures("isolated_git")
def test_a_credentialed_run_that_pushes_leaves_its_secrets_nowhere(
    basic_auth_registry: RegistryServer,
    http_git_server_basic: GitHttpServer,
    unique_repo: str,
    tmp_path: Path,
) -> None:
    """The whole path with every credential in play: a registry login from --config, a Git
    token from the environment, a commit pushed over Basic auth; then every output, the commit
    message and all Git data on both sides are searched."""
    registry, git = basic_auth_registry, http_git_server_basic
    assert registry.username and registry.password and git.username and git.password
    with ImagePusher(registry) as images:
        images.push_tags(unique_repo, {"1.0.0": T0, "1.1.0": T0 + timedelta(days=1)})
    name = f"{unique_repo.replace('/', '-')}.git"
    manifest = workload("app", f"{registry.host}/{unique_repo}:1.0.0", "semver:~1")
    git.make_repo(name, {"app.yaml": manifest.encode()})
    config = tmp_path / "imagebot.yaml"
    config.write_text(
        f"git:\n  username: {git.username}\n  tokenEnv: TRUST_GIT_TOKEN\n"
        f"registries:\n  hosts:\n    {registry.host}:\n      username: {registry.username}\n"
        "      passwordEnv: TRUST_REGISTRY_PASSWORD\n"
    )
    env = {"TRUST_GIT_TOKEN": git.password, "TRUST_REGISTRY_PASSWORD": registry.password}
    common = ("run", "--repo", git.repo_url(name, credentials=False), "--config", str(config))

    pushed = imagebot(*common, "--output", "json", tmp_path=tmp_path, env=env)
    again = imagebot(*common, tmp_path=tmp_path, env=env)

    remote = git.root / name
    result = json.loads(pushed.stdout)
    assert [c["new"] for c in result["changes"]] == [f"{registry.host}/{unique_repo}:1.1.0"]
    assert run_git("--git-dir", str(remote), "show", "main:app.yaml") == manifest.replace(
        ":1.0.0", ":1.1.0"
    )
    searched = git_dirs_under(remote, tmp_path / "cache")
    assert remote in searched and len(searched) > 1  # the workspace's clone is searched too
    assert_no_leaks(
        [*forms(registry.password, registry.username), *forms(git.password, git.username)],
        texts={
            "json stdout": pushed.stdout,
            "json stderr": pushed.stderr,
            "text stdout": again.stdout,
            "text stderr": again.stderr,
            "commit messages": run_git("--git-dir", str(remote), "log", "--format=%B", "main"),
        },
        git_dirs=searched,
        trees=[tmp_path / "cache"],
    )
