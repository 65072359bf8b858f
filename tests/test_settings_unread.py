"""Keys a command does not use are checked but left unread, so what they name need not exist.

Bug (issue 15): docs/configuration.md's ``--config`` example stopped a local ``imagebot run
--dry-run`` with ``git.tokenEnv: environment variable GITHUB_TOKEN is unset``, though a dry run
of a local checkout never reaches a remote and commits nothing. ``imagebot tags --config`` had
the same trouble with Git's keys, which it never uses.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imagebot.cli.settings_options import unread_keys
from imagebot.errors import ConfigError
from imagebot.settings import GIT_REMOTE_KEYS, SIGNING_KEYS, Source, parse_settings

TRUSTED = """\
git:
  tokenEnv: GITHUB_TOKEN
  sshKeyFile: ~/.ssh/imagebot
  signingKey: ~/.ssh/imagebot_sign
  signingFormat: ssh
registries:
  hosts:
    registry.example:5000:
      passwordEnv: REGISTRY_PASSWORD
"""


def read(text: str, unread: frozenset[str], env: dict[str, str]) -> object:
    return parse_settings(text, "trusted.yaml", env=env, source=Source.CONFIG, unread=unread)


def test_an_unset_token_stops_a_command_that_reads_it() -> None:
    with pytest.raises(ConfigError, match="GITHUB_TOKEN is unset"):
        read(TRUSTED, frozenset(), {"REGISTRY_PASSWORD": "p"})


def test_unread_keys_are_left_unset_and_their_secrets_need_not_exist() -> None:
    settings = parse_settings(
        TRUSTED,
        "trusted.yaml",
        env={"REGISTRY_PASSWORD": "p"},
        source=Source.CONFIG,
        unread=GIT_REMOTE_KEYS | SIGNING_KEYS,
    )
    assert settings.git.token is None
    assert settings.git.ssh_key_file is None and settings.git.signing_key is None
    assert settings.git.signing_format == "ssh"  # read: it names no secret
    (host,) = settings.registries.hosts
    assert host.password == "p"  # the registry's secret is still needed, and read


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param("git:\n  tokenEnv: 5\n", "trusted.yaml:2: git.tokenEnv", id="not-a-string"),
        pytest.param("git:\n  tokenEnvv: X\n", "unknown key", id="misspelt"),
    ],
)
def test_unread_keys_are_still_checked(text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        read(text, GIT_REMOTE_KEYS | SIGNING_KEYS, {})


def test_a_repository_file_still_may_not_name_them() -> None:
    with pytest.raises(ConfigError, match=r"not allowed in the repository's imagebot\.yaml"):
        parse_settings(
            "git:\n  tokenEnv: X\n",
            "imagebot.yaml",
            source=Source.REPOSITORY,
            unread=GIT_REMOTE_KEYS,
        )


def test_a_dry_run_of_a_local_checkout_reads_no_git_credentials(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    assert unread_keys({"dry_run": True, "repo": str(tmp_path)}) == GIT_REMOTE_KEYS | SIGNING_KEYS


@pytest.mark.parametrize(
    "repo", ["https://git.example/me/gitops.git", "git@git.example:me/gitops.git"]
)
def test_a_dry_run_of_a_url_still_reads_what_the_clone_needs(repo: str) -> None:
    assert unread_keys({"dry_run": True, "repo": repo}) == SIGNING_KEYS


def test_a_real_run_reads_every_key(tmp_path: Path) -> None:
    assert unread_keys({"dry_run": False, "repo": str(tmp_path)}) == frozenset()


def test_tags_reads_only_the_registry_settings_of_a_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``imagebot tags --config`` with the config above: Git's unset token is no error there."""
    from imagebot.cli.tags_cmd import _settings

    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("REGISTRY_PASSWORD", "p")
    config = tmp_path / "trusted.yaml"
    config.write_text(TRUSTED)
    settings = _settings("registry.example:5000", config, None, False)
    assert [host.host for host in settings.hosts] == ["registry.example:5000"]
