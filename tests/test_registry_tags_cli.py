"""``imagebot tags`` against the rig registry: tags, times, the chosen one and why."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagebot.cli import cli
from tests.rig.images import ImagePusher
from tests.rig.registry import RegistryServer

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
    return CliRunner()


def test_tags_marks_the_current_and_the_chosen_tag_with_the_reason(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str, runner: CliRunner
) -> None:
    digests = pusher.push_tags(
        unique_repo,
        {"dev-1": T0, "dev-3": T0 + dt.timedelta(days=2), "dev-2": T0 + dt.timedelta(days=1)},
    )
    pusher.push_tags(unique_repo, {"release": T0 + dt.timedelta(days=9)})
    image = f"{registry.host}/{unique_repo}:dev-1"

    done = runner.invoke(cli, ["tags", image, "--policy", "glob:dev-*", "--output", "json"])

    assert done.exit_code == 0, done.output
    answer = json.loads(done.output)
    assert answer["schemaVersion"] == 1
    assert answer["chosen"] == "dev-3" and answer["reason"]
    rows = {row["tag"]: row for row in answer["tags"]}
    assert rows["dev-1"]["current"] and not rows["dev-1"]["chosen"]
    assert rows["dev-3"]["chosen"] and rows["dev-3"]["digest"] == digests["dev-3"]
    assert rows["dev-2"]["created"] == "2024-03-02T00:00:00Z"
    assert rows["release"]["created"] is None  # the glob does not want it: never fetched

    again = runner.invoke(cli, ["tags", image, "--policy", "glob:dev-*", "--output", "json"])
    assert json.loads(again.output)["requests"] == {"list": 1}  # the cache served


def test_tags_without_a_policy_prints_a_table_newest_first(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str, runner: CliRunner
) -> None:
    pusher.push_tags(unique_repo, {"old": T0, "new": T0 + dt.timedelta(hours=1)})

    done = runner.invoke(cli, ["tags", f"{registry.host}/{unique_repo}"])

    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[0].split() == ["TAG", "CREATED", "DIGEST"]
    assert [line.split()[0] for line in lines[1:]] == ["new", "old"]


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        pytest.param(["docker.io//flaskapp:v1"], 2, "empty path component", id="bad-reference"),
        pytest.param(["{host}/rig/never-pushed"], 2, "not found", id="unknown-repository"),
        pytest.param(
            ["{host}/rig/x", "--policy", "semver:>=1.2.3.4"], 2, "semver", id="bad-policy"
        ),
    ],
)
def test_tags_reports_bad_input_with_a_clear_message_and_exit_code(
    registry: RegistryServer, runner: CliRunner, arguments: list[str], code: int, message: str
) -> None:
    done = runner.invoke(cli, ["tags", *[a.format(host=registry.host) for a in arguments]])

    assert done.exit_code == code
    assert message in done.output


def test_a_second_run_served_by_the_cache_keeps_every_digest(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str, runner: CliRunner
) -> None:
    """Bug: the second ``imagebot tags`` (creation times from the cache) printed no digests."""
    digests = pusher.push_tags(unique_repo, {"a": T0, "b": T0 + dt.timedelta(hours=1)})
    image = f"{registry.host}/{unique_repo}"

    first = json.loads(runner.invoke(cli, ["tags", image, "--output", "json"]).output)
    second_text = runner.invoke(cli, ["tags", image])
    second = json.loads(runner.invoke(cli, ["tags", image, "--output", "json"]).output)

    assert {row["tag"]: row["digest"] for row in first["tags"]} == digests
    assert {row["tag"]: row["digest"] for row in second["tags"]} == digests
    assert second["requests"] == {"list": 1}
    assert [row["cached"] for row in first["tags"] + second["tags"]] == [False] * 2 + [True] * 2
    for line in second_text.output.splitlines()[1:]:
        tag, _created, digest = line.split()[:3]
        assert digests[tag].startswith(digest)


def test_a_second_run_with_a_policy_costs_one_request(
    registry: RegistryServer, pusher: ImagePusher, unique_repo: str, runner: CliRunner
) -> None:
    """docs/registries.md says a second ``imagebot tags`` is one request; with ``--policy`` it
    was two (a HEAD for the chosen tag's digest). Counted at the registry, not by the client."""
    digests = pusher.push_tags(unique_repo, {"v1": T0, "v2": T0 + dt.timedelta(days=1)})
    image = f"{registry.host}/{unique_repo}:v1"
    args = ["tags", image, "--policy", "glob:v*", "--output", "json"]
    runner.invoke(cli, args)
    before = len(registry.request_log(repo=unique_repo))

    again = runner.invoke(cli, args)

    served = registry.request_log(repo=unique_repo)[before:]
    assert [(e.method, e.kind) for e in served] == [("GET", "tags")]
    answer = json.loads(again.output)
    assert answer["chosen"] == "v2"
    assert next(r for r in answer["tags"] if r["chosen"])["digest"] == digests["v2"]
