"""Every ``--output json`` document starts with ``"schemaVersion": 1`` and has the top-level keys
docs/cli.md lists for its command, no more and no fewer.

Bugs: ``set-image``, ``lint`` and the workflow commands had no ``--output json``; ``list``,
``run``, ``tags`` and ``policy select`` printed JSON without a schema version.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from imagebot.cli import cli
from tests.rig.images import ImagePusher
from tests.rig.registry import RegistryServer
from tests.run_support import workload
from tests.workflow_cases import init_repo

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
WEB = workload("web", "example.org/web:1.0.0", "semver:~1").encode()
PLAIN = b"kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: redis:7}]}\n"


def _outside_parentheses(text: str) -> str:
    kept, depth = [], 0
    for char in text:
        depth += char == "("
        if depth == 0:
            kept.append(char)
        depth -= char == ")" and depth > 0
    return "".join(kept)


@cache
def documented() -> dict[str, set[str]]:
    """command -> top-level keys, from the "Per command" table of docs/cli.md."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## JSON output") :]
    section = section[section.index("| command | top-level keys |") :]
    shapes: dict[str, set[str]] = {}
    for line in section.splitlines()[2:]:
        if not line.startswith("|"):
            break
        commands, keys = (cell.strip() for cell in line.strip("|").split("|", 1))
        names = set(re.findall(r"`([^`]+)`", _outside_parentheses(keys.rstrip("|"))))
        for command in re.findall(r"`([^`]+)`", commands):
            shapes[command] = names
    return shapes


def answer(command: str, *args: str, stdin: str | None = None) -> dict[str, Any]:
    result = CliRunner().invoke(cli, [*command.split(), *args, "--output", "json"], input=stdin)
    data = json.loads(result.stdout)
    assert isinstance(data, dict), result.stdout
    return data


def check(command: str, data: dict[str, object]) -> None:
    assert next(iter(data)) == "schemaVersion"
    assert data["schemaVersion"] == 1
    assert set(data) - {"schemaVersion"} == documented()[command]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "apps").mkdir(parents=True)
    (root / "apps/web.yaml").write_bytes(WEB)
    return root


def test_every_command_with_output_has_a_documented_shape() -> None:
    from tests.test_cli_flags import PRINTS_NO_DATA, leaves

    assert set(documented()) == set(leaves()) - PRINTS_NO_DATA


@pytest.mark.parametrize(
    ("command", "args"),
    [
        pytest.param("list", ["--all"], id="list"),
        pytest.param("lint", [], id="lint"),
        pytest.param("set-image", ["example.org/web:1.0.1", "--dry-run"], id="set-image-dry"),
        pytest.param("set-image", ["example.org/web:1.0.1"], id="set-image"),
    ],
)
def test_local_commands_print_their_documented_shape(
    command: str, args: list[str], tree: Path
) -> None:
    check(command, answer(command, *args, "--repo", str(tree)))


def test_set_image_json_says_what_it_wrote(tree: Path) -> None:
    data = answer("set-image", "example.org/web:1.0.1", "--repo", str(tree))
    assert data["written"] is True and data["files"] == ["apps/web.yaml"]
    [change] = data["changes"]
    assert (change["file"], change["old"], change["new"]) == (
        "apps/web.yaml",
        "example.org/web:1.0.0",
        "example.org/web:1.0.1",
    )
    assert b"example.org/web:1.0.1" in (tree / "apps/web.yaml").read_bytes()


@pytest.mark.parametrize("explain", [[], ["--explain"]], ids=["plain", "explain"])
def test_policy_select_prints_its_documented_shape(explain: list[str]) -> None:
    data = answer("policy select", "semver:~1", *explain, stdin="1.0.0\n1.2.0\n")
    assert data["chosen"] == "1.2.0"
    assert set(data) <= documented()["policy select"] | {"schemaVersion"}
    if explain:
        check("policy select", data)


@pytest.mark.rig  # git init and commit
@pytest.mark.parametrize(
    ("command", "args"),
    [
        pytest.param("run", ["--dry-run"], id="run"),
        pytest.param("automate", ["deployment/web", "--dry-run"], id="automate-dry"),
        pytest.param("deautomate", ["deployment/web", "--no-push"], id="deautomate"),
        pytest.param("lock", ["-w", "deployment/web", "--no-push"], id="lock"),
        pytest.param("unlock", ["-w", "deployment/web"], id="unlock"),
        pytest.param("policy set", ["deployment/web", "-t", "app=glob:*"], id="policy-set"),
        pytest.param("release", ["--image", "example.org/web:2", "--no-push"], id="release"),
    ],
)
def test_commands_that_commit_print_their_documented_shape(
    command: str, args: list[str], tmp_path: Path
) -> None:
    # Nothing automated, so ``run`` asks no registry.
    files = {"apps/web.yaml": WEB.replace(b"'true'", b"'false'"), "docs/pod.yaml": PLAIN}
    repo = init_repo(tmp_path / "work", files)
    data = answer(command, *args, "--repo", str(repo))
    check(command, data)
    if command != "run":
        assert data["files"] in ([], ["apps/web.yaml"])
        assert data["dryRun"] is ("--dry-run" in args)
        assert (data["commit"] is None) is (not data["files"] or "--dry-run" in args)


def test_tags_prints_its_documented_shape(
    registry: RegistryServer,
    pusher: ImagePusher,
    unique_repo: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
    pusher.push_tags(unique_repo, {"v1": dt.datetime(2024, 3, 1, tzinfo=dt.UTC)})
    data = answer("tags", f"{registry.host}/{unique_repo}", "--policy", "glob:v*")
    check("tags", data)
    assert data["repository"] == data["image"] == f"{registry.host}/{unique_repo}"
    assert data["tags"] == [  # the row's keys, as docs/cli.md lists them
        {
            "tag": "v1",
            "created": "2024-03-01T00:00:00Z",
            "digest": data["tags"][0]["digest"],
            "cached": False,
            "current": False,
            "chosen": True,
        }
    ]
