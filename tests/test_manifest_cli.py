"""``imagebot list`` and ``imagebot set-image`` as a user runs them: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagebot.cli import cli

SEED = (
    Path(__file__).resolve().parent.parent
    / "fixtures/manifests/seed-example-repaired/original/deployment.yaml"
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "deployment.yaml").write_bytes(SEED.read_bytes())
    (tmp_path / "cache.yaml").write_text(
        "kind: Pod\nmetadata: {name: cache}\nspec: {containers: [{name: r, image: redis:7}]}\n"
    )
    return tmp_path


def test_list_shows_automated_images_with_policy_and_source(tree: Path) -> None:
    result = CliRunner().invoke(cli, ["list", "--path", str(tree)])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["WHERE", "WORKLOAD", "CONTAINER", "IMAGE", "POLICY", "STATE"]
    assert "deployment.yaml:40" in lines[2] and "glob:develop-v*" in lines[2]
    assert "(annotation flux.weave.works/tag.flask)" in lines[2]
    assert "redis" not in result.stdout  # not automated: only with --all


def test_list_as_json_includes_every_target_with_all(tree: Path) -> None:
    result = CliRunner().invoke(cli, ["list", "--path", str(tree), "--all", "--output", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [(t["file"], t["container"], t["automated"]) for t in data["targets"]] == [
        ("cache.yaml", "r", False),
        ("deployment.yaml", "nginx", True),
        ("deployment.yaml", "flask", True),
    ]
    assert data["targets"][1]["policySource"] == "default glob:* for automated workloads"
    assert data["problems"] == [] and data["skipped"] == []


LOCKED_HELM = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: api
  namespace: prod
  annotations:
    fluxcd.io/automated: "true"
    fluxcd.io/locked: "true"
    fluxcd.io/locked_msg: incident 42
    fluxcd.io/locked_user: ops@example.org
spec:
  values:
    image: ghcr.io/acme/api:1.2@sha256:{digest}
"""


def test_list_json_rows_carry_every_field_of_the_contract(tmp_path: Path) -> None:
    digest = "a" * 64
    (tmp_path / "api.yaml").write_text(LOCKED_HELM.format(digest=digest))
    result = CliRunner().invoke(cli, ["list", "--path", str(tmp_path), "--output", "json"])
    assert result.exit_code == 0
    [row] = json.loads(result.stdout)["targets"]
    assert row == {
        "file": "api.yaml",
        "line": 13,
        "column": 12,
        "document": 0,
        "kind": "helm",
        "workload": "HelmRelease/prod/api",
        "workloadKind": "HelmRelease",
        "workloadNamespace": "prod",
        "workloadName": "api",
        "container": "chart-image",
        "image": f"ghcr.io/acme/api:1.2@sha256:{digest}",
        "repository": "ghcr.io/acme/api",
        "tag": "1.2",
        "digest": f"sha256:{digest}",
        "field": "image",
        "value": f"ghcr.io/acme/api:1.2@sha256:{digest}",
        "automated": True,
        "policy": "glob:*",
        "policySource": "default glob:* for automated workloads",
        "filterPattern": None,
        "filterExtract": None,
        "locked": True,
        "lockedMessage": "incident 42 (locked by ops@example.org)",
        "lockedUser": "ops@example.org",
        "ignored": False,
        "pinDigest": False,
    }


def test_list_json_names_a_kind_less_kustomization_by_its_directory(tmp_path: Path) -> None:
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod/kustomization.yaml").write_text("images:\n- name: nginx\n  newTag: '1.0'\n")
    result = CliRunner().invoke(cli, ["list", "--path", str(tmp_path), "--all", "--output", "json"])
    [row] = json.loads(result.stdout)["targets"]
    assert (row["workloadKind"], row["workloadNamespace"], row["workloadName"]) == (
        "Kustomization",
        None,
        "prod",
    )
    assert (row["repository"], row["tag"], row["field"]) == (
        "docker.io/library/nginx",
        "1.0",
        "tag",
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["docker.io//flaskapp:1"], "empty path component", id="bad-reference"),
        pytest.param(["redis"], "has no tag", id="no-tag"),
        pytest.param(["redis:-x"], "not a valid tag", id="bad-tag"),
        pytest.param(["redis@sha256:" + "1" * 64], "has no tag", id="digest-without-tag"),
        pytest.param(["Redis:7"], "lower case", id="upper-case-repository"),
        pytest.param(["redis:7@sha256:abc"], "not ALGORITHM:HEX", id="short-digest"),
    ],
)
def test_set_image_rejects_bad_input_with_exit_2(
    tree: Path, arguments: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli, ["set-image", *arguments, "--path", str(tree)])
    assert result.exit_code == 2
    assert message in result.stderr


def test_set_image_exits_5_when_nothing_matches_and_writes_nothing(tree: Path) -> None:
    before = (tree / "cache.yaml").read_bytes()
    result = CliRunner().invoke(cli, ["set-image", "redis-sentinel:7.2", "--path", str(tree)])
    assert result.exit_code == 5
    assert "no image of docker.io/library/redis-sentinel" in result.stderr
    assert (tree / "cache.yaml").read_bytes() == before


def test_set_image_writes_the_files_and_says_what_changed(tree: Path) -> None:
    result = CliRunner().invoke(
        cli, ["set-image", "docker.io/library/redis:7.2", "--path", str(tree)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "cache.yaml:3: Pod/default/cache r: redis:7 -> redis:7.2\n"
    assert "image: redis:7.2}" in (tree / "cache.yaml").read_text()
    assert (tree / "deployment.yaml").read_bytes() == SEED.read_bytes()


def test_set_image_on_a_missing_directory_is_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["set-image", "redis:7", "--path", str(tmp_path / "nope")])
    assert result.exit_code == 2


def test_set_image_accepts_a_tag_with_a_digest_and_every_spelling_of_the_name(tree: Path) -> None:
    digest = "sha256:" + "2" * 64
    result = CliRunner().invoke(
        cli, ["set-image", f"index.docker.io/redis:7.2@{digest}", "--path", str(tree)]
    )
    assert result.exit_code == 0, result.output
    assert f"image: redis:7.2@{digest}}}" in (tree / "cache.yaml").read_text()


def test_set_image_releases_the_free_workloads_and_reports_the_locked_ones(tree: Path) -> None:
    locked = "metadata: {name: held, annotations: {imagebot.io/locked: 'true'}}"
    (tree / "held.yaml").write_text((tree / "cache.yaml").read_text().replace(
        "metadata: {name: cache}", locked
    ))  # fmt: skip
    result = CliRunner().invoke(cli, ["set-image", "redis:7.2", "--path", str(tree)])
    assert result.exit_code == 0, result.output
    assert "held.yaml:3: Pod/default/held is locked; unlock it" in result.stderr
    assert "redis:7}" in (tree / "held.yaml").read_text()
    assert "redis:7.2}" in (tree / "cache.yaml").read_text()
    (tree / "cache.yaml").unlink()
    again = CliRunner().invoke(cli, ["set-image", "redis:7.3", "--path", str(tree), "--dry-run"])
    assert again.exit_code == 5  # the only target left is locked
    assert again.stdout == ""


def test_set_image_to_the_version_already_there_succeeds_and_writes_nothing(tree: Path) -> None:
    before = (tree / "cache.yaml").read_bytes()
    result = CliRunner().invoke(cli, ["set-image", "redis:7", "--path", str(tree), "--dry-run"])
    assert (result.exit_code, result.stdout) == (0, "")
    assert (tree / "cache.yaml").read_bytes() == before


def test_list_reads_the_repo_and_path_keeps_subfolders_with_files_relative_to_the_repo(
    tree: Path,
) -> None:
    # One grammar with run and the workflow commands: --repo names the tree, --path filters.
    (tree / "apps").mkdir()
    (tree / "cache.yaml").rename(tree / "apps/cache.yaml")
    args = ["list", "--repo", str(tree), "--path", "apps", "--all", "--output", "json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert [t["file"] for t in json.loads(result.stdout)["targets"]] == ["apps/cache.yaml"]
    assert "note" not in result.stderr


def test_list_path_outside_the_repo_is_still_the_tree_for_one_release_with_a_note(
    tree: Path,
) -> None:
    result = CliRunner().invoke(cli, ["list", "--path", str(tree), "--all", "--output", "json"])
    assert result.exit_code == 0
    files = [t["file"] for t in json.loads(result.stdout)["targets"]]
    assert files == ["cache.yaml", "deployment.yaml", "deployment.yaml"]
    assert f"write --repo {str(tree)!r}" in result.stderr


def test_a_path_outside_a_given_repo_is_bad_input(
    tree: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    result = CliRunner().invoke(cli, ["list", "--repo", str(tree), "--path", str(elsewhere)])
    assert result.exit_code == 2 and "outside --repo" in result.stderr


def test_set_image_path_edits_only_the_subfolders_it_names(tree: Path) -> None:
    (tree / "apps").mkdir()
    (tree / "apps/cache.yaml").write_bytes((tree / "cache.yaml").read_bytes())
    args = ["set-image", "redis:7.2", "--repo", str(tree), "--path", "apps"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == "apps/cache.yaml:3: Pod/default/cache r: redis:7 -> redis:7.2\n"
    assert "redis:7}" in (tree / "cache.yaml").read_text()
