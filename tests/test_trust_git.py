"""The Git token goes only to the protocol and host of the configured remote (issue 12 case 2).

A smart-HTTP remote that redirects to another host that asks for credentials gets nothing:
imagebot's credential helper answers only for the remote it was configured for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagebot.config import GitSettings
from imagebot.errors import GitAuthError
from imagebot.gitrepo import Workspace
from imagebot.gitrepo.credentials import GitEnvironment, split_password
from tests.leaks import assert_no_leaks, forms
from tests.rig.git import GitHttpServer
from tests.rig.proxy import Proxy, start_proxy

MANIFEST = b"image: flask:develop-v1.8.0\n"
pytestmark = pytest.mark.usefixtures("isolated_git")


@pytest.fixture
def redirector(http_git_server_basic: GitHttpServer) -> Iterator[Proxy]:
    """A remote on a second loopback host whose every answer redirects to the Git server."""
    proxy = start_proxy(None, bind="127.0.0.2")
    proxy.redirect_to = http_git_server_basic.url
    yield proxy
    proxy.stop()


def test_a_remote_that_redirects_to_another_host_does_not_get_the_token(
    http_git_server_basic: GitHttpServer,
    redirector: Proxy,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    server = http_git_server_basic
    assert server.username and server.password
    server.make_repo("redirected.git", {"app.yaml": MANIFEST})
    before = len(server.requests)
    settings = GitSettings(
        repo=f"{redirector.url}/redirected.git", username=server.username, token=server.password
    )

    with caplog.at_level(logging.DEBUG), pytest.raises(GitAuthError) as raised:
        Workspace.open(settings, cache_root=tmp_path / "cache").close()

    after = server.requests[before:]
    assert after, "git followed the redirect"
    assert {status for _, _, status in after} == {401}  # the token never got it in
    assert all("Authorization" not in seen.headers for seen in redirector.seen)
    git_dirs = [p.parent for p in (tmp_path / "cache").rglob("HEAD") if p.parent.name == ".git"]
    assert_no_leaks(
        forms(server.password, server.username),
        texts={"error": str(raised.value), "log": caplog.text},
        git_dirs=git_dirs,
    )


def test_the_token_still_reaches_the_configured_host(
    http_git_server_basic: GitHttpServer, tmp_path: Path
) -> None:
    """The control: without a redirect, the helper answers and the clone works."""
    server = http_git_server_basic
    assert server.username and server.password
    server.make_repo("direct.git", {"app.yaml": MANIFEST})
    settings = GitSettings(
        repo=server.repo_url("direct.git", credentials=False),
        username=server.username,
        token=server.password,
    )
    with Workspace.open(settings, cache_root=tmp_path / "cache") as workspace:
        assert (workspace.root / "app.yaml").read_bytes() == MANIFEST
        git_dir = workspace.root / ".git"
        assert_no_leaks(forms(server.password, server.username), git_dirs=[git_dir])


@pytest.mark.parametrize(
    ("remote", "bound"),
    [
        pytest.param("https://git.example:8443/o/r.git", ("https", "git.example:8443"), id="https"),
        pytest.param("http://me@127.0.0.1:9/r.git", ("http", "127.0.0.1:9"), id="user-dropped"),
        pytest.param("ssh://git@git.example/o/r.git", None, id="ssh-needs-no-token"),
        pytest.param(None, None, id="in-place-uses-the-users-credentials"),
    ],
)
def test_the_token_helper_is_bound_to_the_remotes_protocol_and_host(
    remote: str | None, bound: tuple[str, str] | None
) -> None:
    env = GitEnvironment(
        GitSettings(repo=remote or ".", token="tok-0123456789"),
        split_password(remote) if remote else None,
    )
    try:
        values = [v for k, v in env.variables.items() if k.startswith("GIT_CONFIG_VALUE_")]
        helper_installed = any("IMAGEBOT_GIT_HOST" in v for v in values)
        assert helper_installed is (bound is not None)
        if bound is not None:
            assert (
                env.variables["IMAGEBOT_GIT_PROTOCOL"],
                env.variables["IMAGEBOT_GIT_HOST"],
            ) == bound
        else:
            assert "IMAGEBOT_GIT_TOKEN" not in env.variables
    finally:
        env.close()
