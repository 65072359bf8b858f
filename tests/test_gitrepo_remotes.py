"""Credentials over real transports: an HTTPS-style token over smart HTTP with Basic auth, an SSH
key with strict host-key checking, and secrets that never reach .git/config, logs or errors."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagebot.config import GitSettings
from imagebot.errors import GitAuthError
from imagebot.gitrepo import Workspace
from tests.leaks import assert_no_leaks, forms, git_dirs_under, key_forms
from tests.rig.git import GitHttpServer, SshGitServer, run_git

MANIFEST = b"image: flask:develop-v1.8.0\n"
NEW = b"image: flask:develop-v1.9.0\n"
_names = iter(range(1, 1000))


pytestmark = pytest.mark.usefixtures("isolated_git")


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record of every logger (GitPython's included), down to DEBUG."""
    with caplog.at_level(logging.DEBUG):
        yield caplog


def update_and_push(workspace: Workspace) -> str | None:
    (workspace.root / "app.yaml").write_bytes(NEW)
    sha = workspace.commit(["app.yaml"], "Update flask")
    workspace.push()
    return sha


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("settings", id="token-setting"),
        pytest.param("file", id="token-file"),
        pytest.param("environment", id="IMAGEBOT_GIT_TOKEN"),
        pytest.param("url", id="password-in-url"),
    ],
)
def test_a_token_gets_through_basic_auth_and_is_never_written_or_logged(
    source: str,
    http_git_server_basic: GitHttpServer,
    all_logs: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    server = http_git_server_basic
    assert server.username and server.password
    name = f"token-{source}-{next(_names)}.git"
    server.make_repo(name, {"app.yaml": MANIFEST})
    url = server.repo_url(name, credentials=False)
    options: dict[str, str] = {"username": server.username}
    if source == "settings":
        options["token"] = server.password
    elif source == "file":
        (tmp_path / "token").write_text(server.password + "\n")
        options["token_file"] = str(tmp_path / "token")
    elif source == "environment":
        monkeypatch.setenv("IMAGEBOT_GIT_TOKEN", server.password)
    else:
        url = server.repo_url(name, credentials=True)
        options = {}

    settings = GitSettings(repo=url, **options)
    with Workspace.open(settings, cache_root=tmp_path / "cache") as workspace:
        sha = update_and_push(workspace)
        root = workspace.root

    remote = server.root / name
    assert run_git("--git-dir", str(remote), "rev-parse", "main").strip() == sha
    assert_no_leaks(
        forms(server.password, server.username),
        texts={
            "log": all_logs.text,
            "commit": run_git("--git-dir", str(remote), "log", "--format=%B", "main"),
            **({} if source == "url" else {"settings": repr(settings)}),
        },  # a URL is printed as written; docs/git.md says to keep tokens out of it
        git_dirs=git_dirs_under(tmp_path / "cache", remote),
        trees=[root, tmp_path / "cache"],
    )


def test_a_wrong_token_is_an_auth_error_that_does_not_show_it(
    http_git_server_basic: GitHttpServer, all_logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    server = http_git_server_basic
    name = f"wrong-token-{next(_names)}.git"
    server.make_repo(name, {"app.yaml": MANIFEST})
    wrong = "wrong-token-0123456789"
    settings = GitSettings(
        repo=server.repo_url(name, credentials=False), token=wrong, username=server.username
    )

    with pytest.raises(GitAuthError, match="refused the credentials") as caught:
        Workspace.open(settings, cache_root=tmp_path / "cache")

    assert_no_leaks(
        forms(wrong, server.username),
        texts={
            "error": str(caught.value),
            "cause": str(caught.value.__cause__),
            "log": all_logs.text,
        },
        git_dirs=git_dirs_under(tmp_path / "cache"),
        trees=[tmp_path / "cache"],
    )


def test_a_missing_token_is_an_auth_error_saying_what_to_set(
    http_git_server_basic: GitHttpServer, tmp_path: Path
) -> None:
    server = http_git_server_basic
    name = f"no-token-{next(_names)}.git"
    server.make_repo(name, {"app.yaml": MANIFEST})
    settings = GitSettings(repo=server.repo_url(name, credentials=False))
    with pytest.raises(GitAuthError, match="IMAGEBOT_GIT_TOKEN") as caught:
        Workspace.open(settings, cache_root=tmp_path / "cache")
    assert server.password  # the server's own password was never offered, nor shown
    assert_no_leaks(forms(server.password, server.username), texts={"error": str(caught.value)})


def test_an_ssh_key_readable_by_others_still_clones_and_pushes(
    ssh_git_server: SshGitServer, all_logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    server = ssh_git_server
    name = f"ssh-{next(_names)}.git"
    url = server.make_repo(name, {"app.yaml": MANIFEST})
    key = tmp_path / "mounted secret" / "identity"  # a space tests the quoting
    key.parent.mkdir()
    shutil.copyfile(server.client_key, key)
    key.chmod(0o644)  # how Kubernetes mounts a Secret by default; ssh refuses such a key
    settings = GitSettings(
        repo=url, ssh_key_file=str(key), known_hosts_file=str(server.known_hosts)
    )

    with Workspace.open(settings, cache_root=tmp_path / "cache") as workspace:
        sha = update_and_push(workspace)

    assert run_git("--git-dir", str(server.root / name), "rev-parse", "main").strip() == sha
    assert_no_leaks(
        key_forms(key),
        texts={"log": all_logs.text},
        git_dirs=git_dirs_under(tmp_path / "cache", server.root / name),
        trees=[tmp_path / "cache"],
    )


def test_an_unknown_ssh_host_key_is_an_auth_error_naming_host_key_verification(
    ssh_git_server: SshGitServer, all_logs: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    server = ssh_git_server
    url = server.make_repo(f"ssh-stranger-{next(_names)}.git", {"app.yaml": MANIFEST})
    other = tmp_path / "known_hosts"
    # A known_hosts entry for the right address but another key: strict checking must refuse.
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "imposter")],
        check=True,
    )
    imposter = (tmp_path / "imposter.pub").read_text().split()
    other.write_text(f"[{server.host}]:{server.port} {imposter[0]} {imposter[1]}\n")
    settings = GitSettings(
        repo=url, ssh_key_file=str(server.client_key), known_hosts_file=str(other)
    )

    with pytest.raises(GitAuthError, match="host key verification failed") as caught:
        Workspace.open(settings, cache_root=tmp_path / "cache")

    assert_no_leaks(
        key_forms(server.client_key),
        texts={"error": str(caught.value), "log": all_logs.text},
        git_dirs=git_dirs_under(tmp_path / "cache"),
        trees=[tmp_path / "cache"],
    )
