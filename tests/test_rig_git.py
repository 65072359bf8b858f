"""The Git rig itself: clone, commit and push over file://, smart HTTP and SSH with GitPython."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import git
import pytest

from tests.rig.git import GitHttpServer, SshGitServer, make_bare_repo, run_git

# Every test here drives the rig's git servers or the git binary.
pytestmark = pytest.mark.rig

NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0"}
Remote = tuple[str, dict[str, str]]  # clone URL, environment for git


@pytest.fixture(params=["file", "http", "http-basic", "ssh"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Remote:
    """One seeded remote of each kind, with the environment git needs to reach it."""
    files = {"deploy/app.yaml": b"image: registry.example/app:v1\n"}
    name = f"{request.node.name.split('[')[0][:40]}.git"
    if request.param == "file":
        return make_bare_repo(tmp_path / name, files).as_uri(), dict(NO_PROMPT)
    if request.param == "ssh":
        ssh: SshGitServer = request.getfixturevalue("ssh_git_server")
        return ssh.make_repo(name, files), ssh.env
    fixture = "http_git_server" if request.param == "http" else "http_git_server_basic"
    http: GitHttpServer = request.getfixturevalue(fixture)
    return http.make_repo(name, files), dict(NO_PROMPT)


def clone(url: str, env: dict[str, str], path: Path) -> git.Repo:
    repo = git.Repo.clone_from(url, path, env=env)
    repo.git.update_environment(**env)
    with repo.config_writer() as config:
        config.set_value("user", "name", "rig test")
        config.set_value("user", "email", "rig-test@imagebot.invalid")
    return repo


def commit_file(repo: git.Repo, name: str, content: bytes) -> str:
    Path(repo.working_dir, name).write_bytes(content)
    repo.index.add([name])
    return repo.index.commit(f"Change {name}").hexsha


def test_clone_commit_and_push_reach_the_remote(remote: Remote, tmp_path: Path) -> None:
    url, env = remote
    first = clone(url, env, tmp_path / "first")
    assert Path(first.working_dir, "deploy/app.yaml").read_bytes().startswith(b"image:")
    sha = commit_file(first, "deploy/app.yaml", b"image: registry.example/app:v2\n")
    [pushed] = first.remote().push("main")
    assert not pushed.flags & (git.PushInfo.ERROR | git.PushInfo.REJECTED)
    again = clone(url, env, tmp_path / "again")
    assert again.head.commit.hexsha == sha


@pytest.mark.parametrize("kind", ["file", "http"])
def test_a_stale_clone_cannot_push_over_a_newer_commit(
    kind: str,
    tmp_path: Path,
    bare_remote: Callable[..., Path],
    http_git_server: GitHttpServer,
) -> None:
    if kind == "file":
        url = bare_remote({"a.txt": b"a\n"}).as_uri()
    else:
        url = http_git_server.make_repo(
            f"stale-{os.getpid()}-{tmp_path.name}.git", {"a.txt": b"a\n"}
        )
    ahead, stale = (
        clone(url, NO_PROMPT, tmp_path / "ahead"),
        clone(url, NO_PROMPT, tmp_path / "stale"),
    )
    commit_file(ahead, "a.txt", b"from ahead\n")
    ahead.remote().push("main").raise_if_error()
    commit_file(stale, "a.txt", b"from stale\n")
    [result] = stale.remote().push("main")
    assert result.flags & git.PushInfo.REJECTED


def test_http_basic_auth_refuses_a_clone_without_credentials(
    http_git_server_basic: GitHttpServer, tmp_path: Path
) -> None:
    http_git_server_basic.make_repo("guarded.git", {"a.txt": b"a\n"})
    url = http_git_server_basic.repo_url("guarded.git", credentials=False)
    with pytest.raises(git.GitCommandError) as refused:
        git.Repo.clone_from(url, tmp_path / "clone", env=NO_PROMPT)
    assert "could not read Username" in refused.value.stderr
    assert http_git_server_basic.requests[-1][2] == 401


def test_ssh_refuses_a_host_key_the_known_hosts_file_does_not_hold(
    ssh_git_server: SshGitServer, tmp_path: Path
) -> None:
    url = ssh_git_server.make_repo("strict.git", {"a.txt": b"a\n"})
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    env = dict(ssh_git_server.env)
    env["GIT_SSH_COMMAND"] = env["GIT_SSH_COMMAND"].replace(
        str(ssh_git_server.known_hosts), str(empty)
    )
    with pytest.raises(git.GitCommandError) as refused:
        git.Repo.clone_from(url, tmp_path / "clone", env=env)
    assert "Host key verification failed" in refused.value.stderr


def test_a_push_of_more_than_a_mebibyte_goes_through_chunked_http(
    http_git_server: GitHttpServer, tmp_path: Path
) -> None:
    url = http_git_server.make_repo("big.git", {"a.txt": b"a\n"})
    repo = clone(url, NO_PROMPT, tmp_path / "big")
    sha = commit_file(repo, "noise.bin", os.urandom(2 * 1024 * 1024))
    repo.remote().push("main").raise_if_error()
    assert (
        run_git("--git-dir", str(http_git_server.root / "big.git"), "rev-parse", "main").strip()
        == sha
    )


def test_the_same_files_make_the_same_commit(tmp_path: Path) -> None:
    files = {"a.yaml": b"a: 1\n", "nested/b.yaml": b"b: 2\n"}
    heads = [
        run_git(
            "--git-dir", str(make_bare_repo(tmp_path / f"r{i}.git", files)), "rev-parse", "main"
        )
        for i in range(2)
    ]
    other = make_bare_repo(tmp_path / "other.git", {"a.yaml": b"a: 2\n"})
    assert heads[0] == heads[1] != run_git("--git-dir", str(other), "rev-parse", "main")
