"""Git's failures are classified once, and secrets are cut out of every message."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from git.exc import GitCommandError

from imagebot.config import GitSettings
from imagebot.errors import ConfigError, GitAuthError, GitError, ImagebotError
from imagebot.gitrepo.credentials import GitEnvironment, split_password
from imagebot.gitrepo.failures import Redactor, classify
from tests.leaks import assert_no_leaks


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("token s3cr3t-tok here", "token *** here", id="known-secret"),
        pytest.param(
            "fatal: https://me:hunter22@git.example/r.git",
            "fatal: https://me:***@git.example/r.git",
            id="url-password",
        ),
        pytest.param("ssh://git@host/r.git", "ssh://git@host/r.git", id="user-only-kept"),
        pytest.param("abc", "abc", id="short-secrets-ignored"),
    ],
)
def test_the_redactor_removes_secrets_and_url_passwords(text: str, expected: str) -> None:
    assert Redactor(["s3cr3t-tok", "abc", None])(text) == expected


@pytest.mark.parametrize(
    ("stderr", "kind", "says"),
    [
        pytest.param(
            "Host key verification failed.\nfatal: Could not read from remote repository.",
            GitAuthError,
            "host key verification failed",
            id="host-key",
        ),
        pytest.param(
            "git@h: Permission denied (publickey).", GitAuthError, "refused the key", id="ssh-key"
        ),
        pytest.param(
            "remote: Invalid username or password.\n"
            "fatal: Authentication failed for 'https://h/r.git/'",
            GitAuthError,
            "refused the credentials",
            id="https-auth",
        ),
        pytest.param(
            "fatal: could not read Username for 'https://h': terminal prompts disabled",
            GitAuthError,
            "IMAGEBOT_GIT_TOKEN",
            id="no-credentials",
        ),
        pytest.param(
            "warning: Could not find remote branch nope to clone.\n"
            "fatal: Remote branch nope not found in upstream origin",
            ConfigError,
            "does not exist",
            id="missing-branch",
        ),
        pytest.param(
            "fatal: unable to access 'https://h/r.git/': Could not resolve host: h",
            GitError,
            "Could not resolve host",
            id="network",
        ),
    ],
)
def test_git_failures_map_to_the_error_tree(
    stderr: str, kind: type[ImagebotError], says: str
) -> None:
    cause = GitCommandError(["git", "fetch"], 128, stderr.encode())
    error = classify(cause, action="fetch", redact=Redactor())
    assert type(error) is kind
    assert says in str(error)
    assert str(error).startswith("fetch failed: ")


def test_a_password_in_the_url_is_taken_out_and_used_as_the_token() -> None:
    remote = split_password("https://ci:p%40ss@[::1]:8443/org/r.git")
    assert (remote.url, remote.username, remote.password) == (
        "https://ci@[::1]:8443/org/r.git",
        "ci",
        "p@ss",
    )
    environment = GitEnvironment(GitSettings(repo=remote.url), remote)
    assert environment.token == "p@ss"
    assert environment.variables["IMAGEBOT_GIT_USERNAME"] == "ci"


@pytest.mark.rig
def test_git_config_from_the_callers_environment_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "imagebot.test")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "kept")
    variables = GitEnvironment(GitSettings(), None).variables
    env = {**os.environ, **variables}

    def config(key: str) -> str:
        command = ["git", "config", "--get", key]
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout

    assert config("imagebot.test") == "kept\n"
    assert config("gc.autoDetach") == "false\n"


@pytest.mark.rig
def test_the_token_is_answered_from_the_environment_and_never_stored_by_user_helpers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = tmp_path / "stored-credentials"
    user_config = tmp_path / "user.gitconfig"
    user_config.write_text(f"[credential]\n\thelper = store --file {store}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(user_config))
    remote = split_password("https://ci@git.example/org/r.git")
    env = {**os.environ, **GitEnvironment(GitSettings(token="t0ken-value"), remote).variables}
    request = "protocol=https\nhost=git.example\npath=org/r.git\n\n"

    def credential(action: str, text: str) -> str:
        command = ["git", "credential", action]
        done = subprocess.run(
            command, input=text, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    answer = credential("fill", request)
    assert "username=ci\n" in answer and "password=t0ken-value\n" in answer
    credential("approve", answer)  # what git does after the server accepted the token
    assert not store.exists()
    assert_no_leaks(["t0ken-value"], trees=[tmp_path])  # nor in any other file there


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        pytest.param(GitSettings(token_file="/nonexistent/token"), "git.tokenFile", id="token"),
        pytest.param(GitSettings(ssh_key_file="/nonexistent/key"), "git.sshKeyFile", id="key"),
        pytest.param(
            GitSettings(known_hosts_file="/nonexistent/kh"), "git.knownHostsFile", id="hosts"
        ),
        pytest.param(
            GitSettings(signing_key="k", signing_format="pgp"), "git.signingFormat", id="format"
        ),
    ],
)
def test_missing_credential_files_are_config_errors_naming_the_setting(
    settings: GitSettings, complaint: str
) -> None:
    with pytest.raises(ConfigError, match=complaint):
        GitEnvironment(settings, None)
