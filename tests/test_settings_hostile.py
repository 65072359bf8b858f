"""Hostile settings: every value of every key, from ``imagebot.yaml``, ``--config`` or the
ImageAutomation spec, is either read as written or refused with a ``ConfigError`` that names
where it stands. Never another exception, a hang or a value out of range.

Bugs: a 400-digit ``timeoutSeconds`` (or ``maxTags``, ``requestsPerSecond``, ``interval``)
raised OverflowError; ``git.cacheDir`` below a file, ``passwordFile: /dev/zero`` (a hang) and
``/dev/null`` (an empty password), a NUL in a path, a host key that is a list, ``[[[[...`` and a
merge key naming its own mapping all got past the reader or crashed it.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from imagebot.cli import cli
from imagebot.config import Settings
from imagebot.controller.spec import parse_spec
from imagebot.durations import MAX_SECONDS, parse_duration
from imagebot.errors import ConfigError
from imagebot.settings import (
    FIELDS,
    HOST_FIELDS,
    Field,
    Kind,
    Source,
    load_settings,
    parse_settings,
)
from tests.lane_support import examples

ENV = {"TOKEN": "s3cret", "EMPTY": ""}
HUGE = int("9" * 400)


def parse(text: str, source: Source = Source.CONFIG) -> Settings:
    return parse_settings(text, "f.yaml", env=ENV, source=source)


# ---- hand-written: each finding and its neighbours -------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            f"registries:\n  timeoutSeconds: {HUGE}\n",
            "f.yaml:2: registries.timeoutSeconds: must be at most 3600, got a huge number",
            id="timeout-huge-int",
        ),
        pytest.param(
            f"registries:\n  timeoutSeconds: -{HUGE}\n",
            "f.yaml:2: registries.timeoutSeconds: must be above 0",
            id="timeout-huge-negative-int",
        ),
        pytest.param(
            "registries:\n  timeoutSeconds: 1e400\n",
            "f.yaml:2: registries.timeoutSeconds: inf is not a finite number",
            id="timeout-float-overflow",
        ),
        pytest.param(
            "registries:\n  timeoutSeconds: -.inf\n",
            "registries.timeoutSeconds: -inf is not a finite",
            id="timeout-minus-inf",
        ),
        pytest.param(
            f"registries:\n  maxTags: {HUGE}\n",
            "f.yaml:2: registries.maxTags: must be at most 1e\\+06",
            id="max-tags-huge",
        ),
        pytest.param(
            "registries:\n  maxTagPages: 10001\n",
            "registries.maxTagPages: must be at most 10000",
            id="max-tag-pages-above",
        ),
        pytest.param(
            "registries:\n  maxTags: 0\n",
            "registries.maxTags: must be at least 1",
            id="max-tags-zero",
        ),
        pytest.param(
            "registries:\n  maxTags: 1.5\n",
            "registries.maxTags: expected a whole number, got 1.5",
            id="max-tags-fraction",
        ),
        pytest.param(
            f"registries:\n  hosts:\n    a.io:\n      rateLimit: {{requestsPerSecond: {HUGE}}}\n",
            "f.yaml:4: registries.hosts.a.io.rateLimit.requestsPerSecond: must be at most 10000",
            id="rps-huge",
        ),
        pytest.param(
            "registries:\n  hosts:\n    a.io:\n      rateLimit: {requestsPerSecond: -1}\n",
            "requestsPerSecond: must be above 0, got -1",
            id="rps-negative",
        ),
        pytest.param(
            "registries:\n  hosts:\n    a.io:\n      rateLimit: {requestsPerSecond: 0}\n",
            "requestsPerSecond: must be above 0, got 0",
            id="rps-zero",
        ),
        pytest.param(
            "registries:\n  hosts:\n    a.io:\n      rateLimit: {maxConcurrency: .nan}\n",
            "maxConcurrency: expected a whole number, got nan",
            id="concurrency-nan",
        ),
        pytest.param(
            "git:\n  cacheDir: /etc/passwd/below\n",
            "f.yaml:2: git.cacheDir: /etc/passwd/below cannot be made: /etc/passwd is not a dir",
            id="cache-dir-below-a-file",
        ),
        pytest.param(
            "registries:\n  cacheDir: /dev/null\n",
            "registries.cacheDir: /dev/null is not a directory",
            id="cache-dir-a-device",
        ),
        pytest.param(
            'git:\n  cacheDir: "/tmp/\\0x"\n',
            "git.cacheDir: expected the path of a directory, got a string with a NUL",
            id="cache-dir-nul",
        ),
        pytest.param(
            'paths: ["apps", "a\\0b"]\n',
            "f.yaml:1: paths: expected a string, got a string with a NUL",
            id="paths-nul",
        ),
        pytest.param(
            'git:\n  branch: "main\\0"\n',
            "git.branch: expected a string, got a string with a NUL",
            id="branch-nul",
        ),
        pytest.param(
            "registries:\n  hosts:\n    a.io:\n      passwordFile: /dev/zero\n",
            "passwordFile: cannot read /dev/zero: not a regular file",
            id="password-file-dev-zero",
        ),
        pytest.param(
            "registries:\n  hosts:\n    a.io:\n      tokenFile: /\n",
            "tokenFile: cannot read /: not a regular file",
            id="token-file-a-directory",
        ),
        pytest.param(
            "registries:\n  hosts:\n    a.io:\n      passwordEnv: EMPTY\n",
            "f.yaml:4: registries.hosts.a.io.passwordEnv: environment variable EMPTY is empty",
            id="password-env-empty",
        ),
        pytest.param(
            "registries:\n  hosts:\n    ? [a, b]\n    : {}\n",
            "f.yaml:3: registries.hosts.\\('a', 'b'\\): expected a string",
            id="host-key-a-list",
        ),
        pytest.param(
            "registries:\n  hosts:\n    1: {}\n",
            "registries.hosts.1: expected a string, got 1",
            id="host-key-a-number",
        ),
        pytest.param(
            "registries:\n  hosts:\n    a.io/x: {}\n",
            "'a.io/x' is not a registry host",
            id="host-key-with-a-path",
        ),
        pytest.param(
            "registries:\n  hosts:\n    a.io:99999: {}\n",
            "'a.io:99999' is not a registry host",
            id="host-key-port-above-65535",
        ),
        pytest.param(
            "git:\n  skipCI: 'true'\n",
            "f.yaml:2: git.skipCI: expected true or false, got 'true'",
            id="bool-as-string",
        ),
        pytest.param(
            "git:\n  skipCI: 1\n",
            "git.skipCI: expected true or false, got 1",
            id="bool-as-number",
        ),
        pytest.param(
            "paths: " + "[" * 100_000 + "]" * 100_000 + "\n",
            "f.yaml: nested deeper than 64 levels",
            id="flow-nesting-bomb",
        ),
        pytest.param(
            "paths:\n" + "- " * 100_000 + "x\n",
            "f.yaml: nested too deeply",
            id="block-nesting-bomb",
        ),
        pytest.param(
            "git: &g\n  <<: *g\n",
            "f.yaml: not valid YAML",
            id="merge-key-cycle",
        ),
        pytest.param(
            "git: !!binary aGVsbG8=\n",
            "f.yaml:1: git: expected a mapping",
            id="binary-tag",
        ),
    ],
)
def test_a_hostile_value_is_a_config_error_naming_file_line_and_key(
    text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(text)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "text",
    [
        pytest.param("registries:\n  timeoutSeconds: 3600\n", id="timeout-at-the-maximum"),
        pytest.param("registries:\n  timeoutSeconds: 0.001\n", id="timeout-just-above-zero"),
        pytest.param("registries:\n  maxTags: 1000000\n", id="max-tags-at-the-maximum"),
        pytest.param("registries:\n  hosts:\n    '[::1]:5000': {insecure: true}\n", id="ipv6"),
        pytest.param("registries:\n  hosts:\n    localhost:5000: {}\n", id="localhost-port"),
        pytest.param("git:\n  messageTemplate: '{count} {{x}} [[y]]'\n", id="brackets-in-text"),
    ],
)
def test_values_at_the_edges_of_their_range_are_read(text: str) -> None:
    parse(text)


@pytest.mark.timeout(30)
def test_a_cache_dir_that_does_not_exist_yet_but_can_be_made_is_read(tmp_path: Path) -> None:
    wanted = tmp_path / "not" / "yet"
    assert parse(f"git:\n  cacheDir: {wanted}\n").git.cache_dir == str(wanted)


@pytest.mark.timeout(30)
def test_a_password_file_is_read_when_it_is_a_small_regular_file(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("hunter2\n")
    big = tmp_path / "big"
    big.write_bytes(b"x" * (64 * 1024 + 1))
    read = parse(f"registries:\n  hosts:\n    a.io:\n      passwordFile: {secret}\n")
    assert read.registries.hosts[0].password == "hunter2"
    with pytest.raises(ConfigError, match="larger than 65536 bytes"):
        parse(f"registries:\n  hosts:\n    a.io:\n      passwordFile: {big}\n")


@pytest.mark.timeout(30)
def test_a_fifo_as_password_file_or_config_file_is_refused_without_opening_it(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it for reading would block forever: nobody writes
    with pytest.raises(ConfigError, match="not a regular file"):
        parse(f"registries:\n  hosts:\n    a.io:\n      passwordFile: {fifo}\n")
    with pytest.raises(ConfigError, match=f"{fifo}: not a regular file"):
        load_settings(fifo)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("config", ["/dev/zero", "/dev/null", "/", "/nonexistent/imagebot.yaml"])
@pytest.mark.parametrize("command", [["run", "--dry-run"], ["tags", "ghcr.io/a/b"]])
def test_a_config_path_that_is_not_a_settings_file_exits_2(command: list[str], config: str) -> None:
    result = CliRunner().invoke(cli, [*command, "--config", config])
    assert result.exit_code == 2, result.output
    assert config in result.stderr


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"interval": "99999999h"}, "spec.interval: .* longer than a year", id="year"),
        pytest.param({"interval": HUGE}, "spec.interval: .* not a duration", id="huge"),
        pytest.param({"interval": "0.5s"}, "spec.interval: .* shorter than 1s", id="short"),
        pytest.param(
            {"registries": {"timeoutSeconds": HUGE}},
            "spec.registries.timeoutSeconds: must be at most 3600",
            id="timeout-huge",
        ),
        pytest.param(
            {"registries": {"timeoutSeconds": math.nan}},
            "spec.registries.timeoutSeconds: nan is not a finite",
            id="timeout-nan",
        ),
        pytest.param(
            {"registries": {"hosts": [{"host": "a.io", "rateLimit": {"requestsPerSecond": -1}}]}},
            r"spec.registries.hosts\[0\].rateLimit.requestsPerSecond: must be above 0",
            id="rps-negative",
        ),
        pytest.param(
            {"registries": {"hosts": [{"host": "a b"}]}},
            r"spec.registries.hosts\[0\].host: 'a b' is not a registry host",
            id="host-with-a-space",
        ),
        pytest.param(
            {"git": {"url": "https://example.org/r.git", "branch": "x\0"}},
            "spec.git.branch: expected a string, got a string with a NUL",
            id="branch-nul",
        ),
    ],
)
def test_the_spec_is_held_to_the_same_rules_naming_spec_fields(
    fields: dict[str, Any], message: str
) -> None:
    spec: dict[str, Any] = {"git": {"url": "https://example.org/r.git"}}
    spec.update(fields)
    with pytest.raises(ConfigError, match=message):
        parse_spec(spec)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "value",
    [HUGE, -HUGE, math.inf, -math.inf, math.nan, "9" * 400, "9" * 30 + "h", "1e400", True, None],
)
def test_parse_duration_refuses_what_cannot_be_waited(value: object) -> None:
    with pytest.raises(ConfigError):
        parse_duration(value)


def test_parse_duration_reads_up_to_a_year() -> None:
    assert parse_duration("8784h") == MAX_SECONDS
    assert parse_duration(int(MAX_SECONDS)) == MAX_SECONDS


# ---- properties: any value for any key ---------------------------------------------------------

SPECIAL = st.sampled_from(
    [
        "/dev/zero", "/dev/null", "/", "/etc/passwd", "/etc/passwd/x", "~nobody-here/x", "~",
        "", "\0", "a\0b", "TOKEN", "EMPTY", "UNSET_VARIABLE", "5m", "1h30m", "9999999999h",
        "linux/amd64", "linux/arm64/v8", "ssh", "openpgp", "x509", "ghcr.io", "host:5000",
        "[::1]:99999", HUGE, -HUGE, 2**63, -1, 0, 1, 0.5, 3600, 3600.5,
    ]
)  # fmt: skip
# Control characters and YAML's own line breaks (NEL, U+2028) do not survive the dumper's round
# trip unchanged (a property of the YAML writer, not of the reader); SPECIAL brings NUL.
CHARACTERS = st.characters(
    blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85\ufeff"
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(CHARACTERS, max_size=20)
    | SPECIAL
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.text(max_size=6) | SPECIAL.filter(lambda v: isinstance(v, str)), children, max_size=3
        )
    ),
    max_leaves=6,
)


def _nest(dotted: str, value: object) -> dict[str, Any]:
    *parents, leaf = dotted.split(".")
    tree: dict[str, Any] = {leaf: value}
    for name in reversed(parents):
        tree = {name: tree}
    return tree


def _dump(tree: object) -> str:
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(tree, out)
    return out.getvalue()


def _file_tree(entry: Field, value: object, host: object) -> dict[str, Any]:
    if entry in HOST_FIELDS:
        return {"registries": {"hosts": {host: _nest(entry.key, value)}}}
    return _nest(entry.key, value)


def _expected(entry: Field, value: object) -> object:
    """What the setting must hold after reading ``value``, for kinds read as written."""
    if entry.kind in (Kind.STRINGS, Kind.PLATFORMS):
        return tuple(value)  # type: ignore[arg-type]
    if entry.kind is Kind.NUMBER:
        return float(value)  # type: ignore[arg-type]
    if entry.kind is Kind.ENV:
        return ENV[str(value)]
    return value


def _attribute(settings: Settings, entry: Field) -> object:
    node: Any = settings.registries.hosts[0] if entry in HOST_FIELDS else settings
    for name in (entry.target or "").split("."):
        node = getattr(node, name)
    return node


_TEXT = st.text(CHARACTERS, min_size=1, max_size=20)
_PLATFORMS = st.from_regex(r"\A[a-z0-9_.-]{1,8}/[a-z0-9_.-]{1,8}(/[a-z0-9]{1,4})?\Z")


def valid(entry: Field) -> st.SearchStrategy[Any]:
    """Values ``entry`` must accept, so that the round trip is tested as often as refusals."""
    low, high = entry.minimum, entry.maximum
    kinds: dict[Kind, st.SearchStrategy[Any]] = {
        Kind.STRING: _TEXT,
        Kind.BOOL: st.booleans(),
        Kind.INT: st.integers(
            min_value=None if low is None else int(low),
            max_value=None if high is None else int(high),
        ),
        Kind.NUMBER: st.floats(
            min_value=low, max_value=high, exclude_min=entry.above, allow_nan=False
        ),
        Kind.CHOICE: st.sampled_from(entry.choices or ("x",)),
        Kind.STRINGS: st.lists(_TEXT, min_size=1, max_size=3),
        Kind.PLATFORM: _PLATFORMS,
        Kind.PLATFORMS: st.lists(_PLATFORMS, min_size=1, max_size=3),
        Kind.DIRECTORY: st.sampled_from(["/tmp", "/tmp/imagebot-hostile/not/yet"]),
        Kind.ENV: st.just("TOKEN"),
        Kind.DURATION: st.sampled_from(["1s", "90s", "5m", "1h30m", "8784h", 60, 1.5]),
    }
    return kinds.get(entry.kind, VALUES)


FILE_FIELDS = [f for f in (*FIELDS, *HOST_FIELDS) if any(s.file for s in f.sources)]
FILE_FIELDS = [f for f in FILE_FIELDS if f.key != "host"]  # a host is its mapping's key there
RESOURCE_FIELDS = [f for f in FIELDS if Source.RESOURCE in f.sources]  # hosts: any value too
ROUND_TRIP = {Kind.STRING, Kind.BOOL, Kind.INT, Kind.NUMBER, Kind.CHOICE, Kind.STRINGS,
              Kind.PLATFORM, Kind.PLATFORMS, Kind.DIRECTORY, Kind.ENV}  # fmt: skip


@pytest.mark.timeout(300)
@settings(
    max_examples=examples(1500),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    entry=st.sampled_from(FILE_FIELDS),
    data=st.data(),
    host=st.sampled_from(["ghcr.io", "registry:5000"]) | st.text(max_size=8) | st.integers(),
)
def test_any_value_of_any_file_key_is_read_as_written_or_a_config_error(
    entry: Field, data: st.DataObject, host: object
) -> None:
    value = data.draw(VALUES | valid(entry), label="value")
    text = _dump(_file_tree(entry, value, host))
    try:
        read = parse(text)
    except ConfigError as error:
        assert str(error).startswith("f.yaml"), error
        return
    if value is None or value == "" or entry.kind not in ROUND_TRIP:
        return
    assert _attribute(read, entry) == _expected(entry, value)
    if isinstance(value, float):
        assert math.isfinite(value)


@pytest.mark.timeout(300)
@settings(max_examples=examples(1000), deadline=None)
@given(entry=st.sampled_from(RESOURCE_FIELDS), data=st.data())
def test_any_value_of_any_spec_key_is_read_as_written_or_a_config_error(
    entry: Field, data: st.DataObject
) -> None:
    value = data.draw(VALUES | valid(entry), label="value")
    spelled = entry.spelled(Source.RESOURCE)
    assume(spelled != "git.url")
    spec: dict[str, Any] = _nest(spelled, value)
    spec.setdefault("git", {})["url"] = "https://example.org/r.git"
    try:
        read = parse_spec(spec)
    except ConfigError as error:
        assert str(error).startswith("spec."), error
        return
    if entry.kind is Kind.DURATION and value is not None and value != "":
        assert 1.0 <= read.interval_seconds <= MAX_SECONDS
    if value is None or value == "" or entry.target is None or entry.kind not in ROUND_TRIP:
        return
    assert _attribute(read.settings, entry) == _expected(entry, value)


# ---- flags: the same rules as the keys they stand for ------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("platform", ["bad platform", "linux", "linux/amd64/v8/x", "/"])
def test_a_platform_flag_is_held_to_the_platform_keys_rules(platform: str) -> None:
    result = CliRunner().invoke(cli, ["tags", "ghcr.io/a/b", "--platform", platform])
    assert result.exit_code == 2, result.output
    assert "--platform: " in result.stderr and "OS/ARCH" in result.stderr


def test_read_flag_names_the_flag_and_returns_the_checked_value() -> None:
    from imagebot.settings.grammar import read_flag

    assert read_flag("registries.platform", "linux/arm64/v8", "--platform") == "linux/arm64/v8"
    with pytest.raises(ConfigError, match=r"^--timeout: must be at most 3600"):
        read_flag("registries.timeoutSeconds", HUGE, "--timeout")
