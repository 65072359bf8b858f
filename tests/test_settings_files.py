"""imagebot.yaml: every documented key is read, a bad key is named with its line, and the
repository's own file may set only what repository content can be trusted with."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imagebot.config import RegistryHost, RegistrySettings, Settings
from imagebot.errors import ConfigError
from imagebot.settings import Source, load_settings, parse_settings, settings_loader
from imagebot.settings.grammar import read_settings
from tests.leaks import assert_no_leaks

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
    123456789012.dkr.ecr.eu-west-1.amazonaws.com:
      pushTimes:
        api: ecr
        accessKeyIdEnv: ECR_KEY_ID
        secretAccessKeyEnv: ECR_SECRET
        sessionTokenEnv: ECR_SESSION
"""
ENV = {
    "GIT_TOKEN": "t0ken",
    "REG_PASSWORD": "s3cret",
    "ECR_KEY_ID": "AKIAFULLCONFIG00001",
    "ECR_SECRET": "ecr-s3cret-key",
    "ECR_SESSION": "ecr-session-t0ken",
}


def config(text: str, env: dict[str, str] | None = None) -> Settings:
    return parse_settings(text, "config.yaml", env=env or {}, source=Source.CONFIG)


def repository(text: str) -> Settings:
    return parse_settings(text, "imagebot.yaml", env=ENV, source=Source.REPOSITORY)


def host(registries: RegistrySettings, name: str) -> RegistryHost:
    (found,) = (entry for entry in registries.hosts if entry.host == name)
    return found


def test_every_documented_key_is_read() -> None:
    settings = config(FULL, ENV)
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
    assert (registries.max_tag_pages, registries.max_tags, registries.timeout_seconds) == (
        5, 500, 10.0
    )  # fmt: skip
    hub = host(registries, "docker.io")
    assert hub.mirror == "mirror.internal:5000" and hub.rate_limit is not None
    assert (hub.rate_limit.max_concurrency, hub.rate_limit.requests_per_second) == (2, 1.5)
    assert hub.rate_limit.burst == 1  # unset keys keep the dataclass's default
    private = host(registries, "registry.example:5000")
    assert private.insecure and (private.username, private.password) == ("robot", "s3cret")
    ecr = host(registries, "123456789012.dkr.ecr.eu-west-1.amazonaws.com").push_times
    assert ecr is not None and ecr.api == "ecr"
    assert (ecr.access_key_id, ecr.secret_access_key, ecr.session_token) == (
        "AKIAFULLCONFIG00001", "ecr-s3cret-key", "ecr-session-t0ken"
    )  # fmt: skip


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    settings = config(FULL, ENV)
    assert_no_leaks(ENV.values(), texts={"repr": repr(settings), "str": str(settings)})


def test_an_empty_file_keeps_every_default_of_the_dataclasses() -> None:
    assert config("") == Settings()
    assert config("git: {}\nregistries:\n") == Settings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "git:\n  brnach: main\n", r"config.yaml:2: git.brnach: unknown key", id="typo"
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
        pytest.param("paths: [apps, '']\n", r":1: paths: expected a string", id="empty-path"),
        pytest.param("git:\n  maxPushAttempts: 0\n", r"must be at least 1", id="positive"),
        pytest.param("git: [\n", r"config.yaml:2: not valid YAML", id="yaml"),
        pytest.param("- a\n", r"top level: expected a mapping", id="not-a-mapping"),
        pytest.param("git: main\n", r":1: git: expected a mapping, got a string", id="section"),
        pytest.param(
            "git:\n  signingFormat: pgp\n",
            r"git.signingFormat: 'pgp': expected one of openpgp, ssh, x509",
            id="choice",
        ),
        pytest.param(
            "registries:\n  platform: amd64\n", r":2: registries.platform: 'amd64' is not", id="os"
        ),
        pytest.param(
            "registries:\n  hosts:\n    h: {username: a, usernameEnv: REG_PASSWORD}\n",
            r"registries.hosts.h.usernameEnv: username sets the same thing; keep one",
            id="twice",
        ),
    ],
)
def test_bad_settings_name_the_key_and_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(text, ENV)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("0", "must be above 0, got 0", id="zero"),
        pytest.param("-1", "must be above 0, got -1", id="negative"),
        pytest.param(".nan", "nan is not a finite number", id="nan"),
        pytest.param(".inf", "inf is not a finite number", id="inf"),
        pytest.param("-.inf", "-inf is not a finite number", id="minus-inf"),
        pytest.param("86400", "must be at most 3600", id="a-day"),
        pytest.param("true", "expected a number, got True", id="boolean"),
    ],
)
def test_a_timeout_must_be_a_finite_positive_number(value: str, message: str) -> None:
    # Each of these crashed a run (or waited for ever) before they were checked.
    with pytest.raises(ConfigError, match=rf"^config.yaml:2: registries.timeoutSeconds: {message}"):
        config(f"registries:\n  timeoutSeconds: {value}\n")


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        pytest.param("{maxConcurrency: 0}", "maxConcurrency: must be at least 1", id="no-slot"),
        pytest.param("{maxConcurrency: 1.5}", "maxConcurrency: expected a whole", id="fraction"),
        pytest.param("{requestsPerSecond: -2}", "requestsPerSecond: must be above 0", id="neg"),
        pytest.param("{requestsPerSecond: .nan}", "requestsPerSecond: nan is not", id="nan"),
    ],
)
def test_rate_limits_are_checked(limit: str, message: str) -> None:
    text = f"registries:\n  hosts:\n    h:\n      rateLimit: {limit}\n"
    with pytest.raises(
        ConfigError, match=rf"config.yaml:4: registries.hosts.h.rateLimit.{message}"
    ):
        config(text)


@pytest.mark.parametrize("key", ["git:\n  cacheDir", "registries:\n  cacheDir"])
def test_a_cache_dir_that_is_a_file_is_a_config_error(key: str, tmp_path: Path) -> None:
    # It crashed the run when the cache was first written.
    file = tmp_path / "file"
    file.write_text("")
    with pytest.raises(ConfigError, match=rf"config.yaml:2: \w+.cacheDir: {file} is not a dir"):
        config(f"{key}: {file}\n")
    assert config(f"{key}: {tmp_path / 'new'}\n") != Settings()


def test_a_yaml_error_quotes_no_line_of_the_file() -> None:
    with pytest.raises(ConfigError) as raised:
        config("git:\n  token: 'hunter2-secret\n")
    assert_no_leaks(["hunter2"], texts={"error": str(raised.value)})


# The repository's own imagebot.yaml: written by anyone who can push, so it sets only the keys
# on the allow-list. Each of these once let a committer send the controller's secrets to a host
# of their choosing, or point imagebot at files and hosts of the machine it runs on.
UNTRUSTED = [
    pytest.param(
        "registries:\n  hosts:\n    evil.example:\n      passwordEnv: IMAGEBOT_GIT_TOKEN\n",
        "2: registries.hosts",
        id="env-secret",
    ),
    pytest.param(
        "registries:\n  hosts:\n    evil.example: {username: x, passwordFile: /etc/shadow}\n",
        "2: registries.hosts",
        id="file-secret",
    ),
    pytest.param(
        "registries:\n  hosts:\n    h: {insecure: true}\n", "2: registries.hosts", id="tls"
    ),
    pytest.param(
        "registries:\n  hosts:\n    docker.io: {mirror: evil.example}\n",
        "2: registries.hosts",
        id="mirror",
    ),
    pytest.param("git:\n  knownHostsFile: /tmp/mine\n", "2: git.knownHostsFile", id="known-hosts"),
    pytest.param("git:\n  sshKeyFile: /root/.ssh/id\n", "2: git.sshKeyFile", id="ssh-key"),
    pytest.param("git:\n  signingKey: /keys/x\n", "2: git.signingKey", id="signing-key"),
    pytest.param("git:\n  tokenEnv: AWS_SECRET\n", "2: git.tokenEnv", id="git-token-env"),
    pytest.param("git:\n  tokenFile: /run/secret\n", "2: git.tokenFile", id="git-token-file"),
    pytest.param(
        "registries:\n  dockerConfig: /tmp/helper.json\n",
        "2: registries.dockerConfig",
        id="helper",  # a docker config names credential helpers: programs imagebot would run
    ),
    pytest.param("registries:\n  cacheDir: /tmp/x\n", "2: registries.cacheDir", id="cache"),
    pytest.param("git:\n  cacheDir: /tmp/x\n", "2: git.cacheDir", id="git-cache"),
    pytest.param("git:\n  pushBranch: production\n", "2: git.pushBranch", id="push-branch"),
    pytest.param("registries:\n  timeoutSeconds: 10\n", "2: registries.timeoutSeconds", id="n"),
]


@pytest.mark.parametrize(("text", "where"), UNTRUSTED)
def test_the_repository_file_may_not_set_trusted_keys(text: str, where: str) -> None:
    with pytest.raises(ConfigError, match=rf"^imagebot.yaml:{where}: not allowed in the reposi"):
        repository(text)
    with pytest.raises(ConfigError, match="it belongs in --config or the ImageAutomation"):
        repository(text)
    config(text, {**ENV, "IMAGEBOT_GIT_TOKEN": "x", "AWS_SECRET": "y"})  # fine in --config


def test_the_repository_file_sets_what_the_allow_list_names() -> None:
    text = (
        "paths: [apps]\nallowDowngrade: true\n"
        "git:\n  author: {name: A, email: a@example.org}\n  messageTemplate: m\n  skipCI: true\n"
        "registries:\n  platform: linux/arm64\n  requiredPlatforms: [linux/arm64]\n"
    )
    settings = repository(text)
    assert settings.paths == ("apps",) and settings.allow_downgrade
    assert (settings.git.author_name, settings.git.message_template) == ("A", "m")
    assert settings.registries.required_platforms == ("linux/arm64",)


def test_the_repository_file_is_read_under_the_command_lines_choices(tmp_path: Path) -> None:
    (tmp_path / "imagebot.yaml").write_text("paths: [apps]\ngit:\n  author: {name: FromFile}\n")
    load = settings_loader(None, Settings(), lambda s: _with(s, dry_run=True))
    settings = load(tmp_path)
    assert settings.paths == ("apps",) and settings.git.author_name == "FromFile"
    assert settings.dry_run


def test_the_repository_file_is_read_as_untrusted(tmp_path: Path) -> None:
    (tmp_path / "imagebot.yaml").write_text("git:\n  sshKeyFile: /etc/ssh/ssh_host_ed25519_key\n")
    with pytest.raises(ConfigError, match=r"^imagebot.yaml:2: git.sshKeyFile: not allowed"):
        settings_loader(None, Settings(), lambda s: s)(tmp_path)


def test_a_missing_repository_file_keeps_the_command_line_settings(tmp_path: Path) -> None:
    base = Settings(paths=("x",))
    assert settings_loader(None, base, lambda s: s)(tmp_path) is base
    with pytest.raises(ConfigError, match="no such file"):
        settings_loader(str(tmp_path / "nope.yaml"), base, lambda s: s)(tmp_path)


def test_a_symlinked_repository_file_leading_out_of_the_clone_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "operator-secrets.yaml"
    outside.write_text("token: 'hunter2-outside\n")  # broken YAML: its error would quote it
    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / "imagebot.yaml").symlink_to(outside)
    with pytest.raises(ConfigError, match="symlink that leads out of the repository") as raised:
        settings_loader(None, Settings(), lambda s: s)(clone)
    assert_no_leaks(["hunter2", str(tmp_path)], texts={"error": str(raised.value)})


def test_a_symlinked_repository_file_inside_the_clone_is_read(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "imagebot.yaml").write_text("paths: [apps]\n")
    (tmp_path / "imagebot.yaml").symlink_to(Path("config") / "imagebot.yaml")
    assert settings_loader(None, Settings(), lambda s: s)(tmp_path).paths == ("apps",)


def test_a_config_that_is_not_a_regular_file_is_refused() -> None:
    with pytest.raises(ConfigError, match="/dev/zero: not a regular file"):
        load_settings(os.devnull.replace("null", "zero"))


def test_x509_signing_is_one_answer_in_every_source() -> None:
    from imagebot.controller.spec import parse_spec

    from_file = config("git:\n  signingFormat: x509\n").git.signing_format
    spec = {"git": {"url": "file:///r.git", "signingKey": {"format": "x509"}}}
    assert from_file == parse_spec(spec).settings.git.signing_format == "x509"


def test_keys_both_sources_share_are_read_the_same_way() -> None:
    from imagebot.settings.fields import FIELDS, Kind

    samples = {Kind.STRING: "v", Kind.BOOL: True, Kind.INT: 7, Kind.NUMBER: 2.5,
               Kind.STRINGS: ["a"], Kind.PLATFORM: "linux/arm", Kind.PLATFORMS: ["linux/arm"],
               Kind.CHOICE: "ssh"}  # fmt: skip
    shared = [f for f in FIELDS if Source.CONFIG in f.sources and Source.RESOURCE in f.sources]
    assert len(shared) > 10
    for field in (f for f in shared if f.kind in samples):
        value = samples[field.kind]
        got = [
            read_settings(_nest(field.spelled(source), value), source, _nowhere).settings
            for source in (Source.CONFIG, Source.RESOURCE)
        ]
        assert got[0] == got[1] != Settings(), field.key


def _nest(key: str, value: object) -> dict[str, object]:
    tree: dict[str, object] = {}
    node = tree
    *parents, leaf = key.split(".")
    for name in parents:
        node = node.setdefault(name, {})  # type: ignore[assignment]
    node[leaf] = value
    return tree


def _nowhere(_parent: object, _name: object, key: str) -> str:
    return key


def _with(settings: Settings, **values: object) -> Settings:
    from dataclasses import replace

    return replace(settings, **values)  # type: ignore[arg-type]


def test_the_documented_examples_parse_as_the_files_they_stand_for() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    repository_part = docs.split("### In the repository: `imagebot.yaml`", 1)[1]
    trusted_part = docs.split("### Yours: `imagebot run --config", 1)[1]
    in_repository, trusted = (part.split("```yaml\n", 1)[1].split("```", 1)[0] for part in (
        repository_part, trusted_part
    ))  # fmt: skip
    assert repository(in_repository).registries.required_platforms
    env = {"GITHUB_TOKEN": "t", "REGISTRY_PASSWORD": "p"}
    settings = parse_settings(
        trusted, "imagebot-trusted.yaml", Settings(), env=env, source=Source.CONFIG
    )
    assert host(settings.registries, "registry.example:5000").password == "p"
    with pytest.raises(ConfigError, match="it belongs in --config"):
        repository(trusted)
