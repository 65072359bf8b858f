"""imagebot.yaml: every documented key is read, and a bad key is named with its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagebot.config import Settings
from imagebot.configfile import parse_settings, settings_loader
from imagebot.errors import ConfigError

SCHEMA = Path(__file__).parent.parent / "imagebot" / "schema" / "imagebot.schema.json"

FULL = """\
paths: [apps, clusters/prod]
allowDowngrade: false
git:
  branch: main
  pushBranch: imagebot/{image}-{tag}
  author: {name: Bot, email: bot@example.org}
  messageTemplate: "Release {count} images"
  skipCI: true
  signingKey: /keys/sign
  signingFormat: ssh
  sshKeyFile: /keys/id
  knownHostsFile: /keys/known_hosts
  tokenEnv: GIT_TOKEN
  maxPushAttempts: 3
registries:
  dockerConfig: /docker/config.json
  platform: linux/arm64
  requiredPlatforms: [linux/amd64, linux/arm64]
  maxTagPages: 5
  maxTags: 500
  timeoutSeconds: 10
  cacheDir: /cache
  hosts:
    docker.io:
      mirror: mirror.internal:5000
      rateLimit: {maxConcurrency: 2, requestsPerSecond: 1.5}
    registry.example:5000:
      insecure: true
      username: robot
      passwordEnv: REG_PASSWORD
"""


def test_every_documented_key_is_read() -> None:
    env = {"GIT_TOKEN": "t0ken", "REG_PASSWORD": "s3cret"}
    settings = parse_settings(FULL, "imagebot.yaml", env=env)
    assert settings.paths == ("apps", "clusters/prod")
    git = settings.git
    assert (git.branch, git.push_branch, git.author_name, git.author_email) == (
        "main", "imagebot/{image}-{tag}", "Bot", "bot@example.org"
    )  # fmt: skip
    assert (git.skip_ci, git.signing_format, git.token, git.max_push_attempts) == (
        True, "ssh", "t0ken", 3
    )  # fmt: skip
    registries = settings.registries
    assert registries.required_platforms == ("linux/amd64", "linux/arm64")
    hub = registries.host("docker.io")
    assert hub is not None and hub.mirror == "mirror.internal:5000"
    assert hub.rate_limit is not None and hub.rate_limit.max_concurrency == 2
    private = registries.host("registry.example:5000")
    assert private is not None and private.insecure and private.password == "s3cret"


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    settings = parse_settings(
        FULL, "imagebot.yaml", env={"GIT_TOKEN": "t0ken", "REG_PASSWORD": "s3cret"}
    )
    assert "t0ken" not in repr(settings) and "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "git:\n  brnach: main\n", r"imagebot.yaml:2: git.brnach: unknown key", id="typo"
        ),
        pytest.param(
            "git:\n  skipCI: 'yes'\n", r":2: git.skipCI: expected true or false", id="type"
        ),
        pytest.param(
            "registries:\n  hosts:\n    h:\n      password: x\n",
            r":4: registries.hosts.h.password: do not put secrets in the file",
            id="inline-secret",
        ),
        pytest.param("git:\n  tokenEnv: NOPE\n", r"environment variable NOPE is unset", id="env"),
        pytest.param("paths: apps\n", r":1: paths: expected a list", id="paths"),
        pytest.param("git:\n  maxPushAttempts: 0\n", r"must be at least 1", id="positive"),
        pytest.param("git: [\n", r"not valid YAML", id="yaml"),
        pytest.param("- a\n", r"top level: expected a mapping", id="not-a-mapping"),
    ],
)
def test_bad_settings_name_the_key_and_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings(text, "imagebot.yaml", env={})


def test_the_schema_documents_the_same_keys_the_reader_accepts() -> None:
    from imagebot import configfile

    schema = json.loads(SCHEMA.read_text())
    props = schema["properties"]
    assert set(props) == configfile._TOP
    assert set(props["git"]["properties"]) == configfile._GIT
    assert set(props["registries"]["properties"]) == configfile._REGISTRIES
    assert set(
        props["registries"]["properties"]["hosts"]["additionalProperties"]["properties"]
    ) == (configfile._HOST)


def test_the_repository_file_is_read_under_the_command_lines_choices(tmp_path: Path) -> None:
    (tmp_path / "imagebot.yaml").write_text("paths: [apps]\ngit:\n  author: {name: FromFile}\n")
    base = Settings()
    load = settings_loader(None, base, lambda s: s.__class__(**{**_fields(s), "dry_run": True}))
    settings = load(tmp_path)
    assert settings.paths == ("apps",) and settings.git.author_name == "FromFile"
    assert settings.dry_run


def test_a_missing_repository_file_keeps_the_command_line_settings(tmp_path: Path) -> None:
    base = Settings(paths=("x",))
    assert settings_loader(None, base, lambda s: s)(tmp_path) is base
    with pytest.raises(ConfigError, match="no such file"):
        settings_loader(str(tmp_path / "nope.yaml"), base, lambda s: s)(tmp_path)


def _fields(settings: Settings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in settings.__slots__}  # type: ignore[attr-defined]
