"""The pure parts of fluxctl parity, and its refusals, in-process (the rig tests are in
tests/test_fluxctl_parity.py).

Which tags ``list-images`` shows (fluxctl's rule: the newest ``--limit``, the running one always);
which workloads ``list-workloads -n -c`` keeps; what ``release --update-all-images`` follows
for a workload that is not automated; and the usage errors (exit 2) of contradictory flags.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagebot.cli import cli
from imagebot.cli.tag_window import available, newest_first
from imagebot.manifest import scan_tree
from imagebot.manifest.inventory import inventory, policy_names
from imagebot.manifest.scope import workload_of
from imagebot.model import Automation, TagInfo
from imagebot.reconcile.latest import NEWEST, followed

T0 = datetime(2024, 5, 1, tzinfo=UTC)
TAGS = [TagInfo(f"v{i}", T0 + timedelta(days=i)) for i in range(6)] + [TagInfo("nodate")]
TREE = {
    "prod.yaml": """\
kind: Deployment
metadata:
  name: web
  namespace: prod
  annotations: {imagebot.io/tag.app: "semver:~1", imagebot.io/locked: "true"}
spec: {template: {spec: {containers: [{name: app, image: example.org/app:1.0.0},
                                      {name: proxy, image: nginx:1.25}]}}}
""",
    "default.yaml": """\
kind: StatefulSet
metadata: {name: db, annotations: {imagebot.io/automated: "true"}}
spec: {template: {spec: {containers: [{name: db, image: example.org/db:15}]}}}
""",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name, text in TREE.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("current", "limit", "shown", "omitted"),
    [
        pytest.param("v5", 2, ["v5", "v4"], 0, id="current-within-the-limit"),
        pytest.param("v1", 2, ["v5", "v4", "v1"], 2, id="current-past-the-limit-is-shown"),
        pytest.param("v0", 0, ["v5", "v4", "v3", "v2", "v1", "v0", "nodate"], 0, id="zero-is-all"),
        pytest.param("gone", 1, ["v5"], 0, id="current-not-listed"),
        pytest.param("nodate", 1, ["v5", "nodate"], 5, id="undated-tags-come-last"),
    ],
)
def test_list_images_shows_the_newest_and_always_the_running_tag(
    current: str, limit: int, shown: list[str], omitted: int
) -> None:
    window = available(TAGS, current, limit)
    assert [t.tag for t in window.shown] == shown
    assert window.omitted_before_current == omitted
    assert window.total == len(TAGS)
    assert window.current_listed == (current != "gone")


def test_tags_of_one_creation_time_are_ordered_by_name() -> None:
    same = [TagInfo("a", T0), TagInfo("c", T0), TagInfo("b", T0)]
    assert [t.tag for t in newest_first(same)] == ["c", "b", "a"]


@pytest.mark.parametrize(
    ("namespace", "container", "names"),
    [
        pytest.param(None, None, ["Deployment/prod/web", "StatefulSet/default/db"], id="all"),
        pytest.param("prod", None, ["Deployment/prod/web"], id="namespace"),
        pytest.param("default", None, ["StatefulSet/default/db"], id="none-written-is-default"),
        pytest.param(None, "proxy", ["Deployment/prod/web"], id="container"),
        pytest.param("default", "proxy", [], id="both"),
    ],
)
def test_list_workloads_filters_by_namespace_and_container(
    tree: Path, namespace: str | None, container: str | None, names: list[str]
) -> None:
    scan = scan_tree(tree, with_workloads=True)
    listed = inventory(scan, namespace=namespace, container=container)
    assert [str(entry.workload.id) for entry in listed] == names


@pytest.mark.parametrize(
    ("automation", "names"),
    [
        pytest.param(Automation(), "", id="none"),
        pytest.param(Automation(automated=True, locked=True), "automated,locked", id="two"),
        pytest.param(Automation(ignored=True, locked=True), "ignore,locked", id="fluxctl-order"),
    ],
)
def test_the_policy_column_is_fluxctls(automation: Automation, names: str) -> None:
    assert policy_names(automation) == names


def test_update_all_images_follows_the_written_policy_of_a_workload_not_automated(
    tree: Path,
) -> None:
    scan = scan_tree(tree, with_workloads=True)
    by_container = {t.container: t for t in scan.targets}
    app, proxy, db = by_container["app"], by_container["proxy"], by_container["db"]
    owner = workload_of(app, scan.workloads)
    assert app.policy is None  # not automated: the target carries no policy
    assert followed(app, owner, force=False).policy is not None
    assert followed(app, owner, force=False).policy.text == "semver:~1"  # type: ignore[union-attr]
    assert followed(proxy, owner, force=False).policy == NEWEST
    assert followed(app, owner, force=False).automation.locked
    assert not followed(app, owner, force=True).automation.locked
    assert followed(db, workload_of(db, scan.workloads), force=False).policy == db.policy


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["release"], "--update-image IMAGE:TAG or --update-all-images", id="neither"),
        pytest.param(
            ["release", "--update-image", "a:1", "--update-all-images"],
            "(one of them)",
            id="both",
        ),
        pytest.param(
            ["release", "--all", "-w", "deploy/web", "--update-all-images"],
            "--all and --workload",
            id="all-and-workload",
        ),
        pytest.param(
            ["policy", "-w", "deploy/web", "--automate", "--deautomate"],
            "--automate and --deautomate contradict",
            id="automate-and-deautomate",
        ),
        pytest.param(
            ["policy", "-w", "deploy/web", "--lock", "--unlock"],
            "--lock and --unlock contradict",
            id="lock-and-unlock",
        ),
        pytest.param(
            ["list-workloads", "-n", "prod", "--all-namespaces"],
            "--namespace and --all-namespaces",
            id="namespace-and-all",
        ),
        pytest.param(
            ["list-images", "-w", "deploy/nope"], "no workload Deployment/*/nope", id="no-such"
        ),
    ],
)
def test_contradictory_or_unknown_requests_are_usage_errors(
    tree: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli, [*args, "--repo", str(tree)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_list_workloads_prints_fluxctls_columns_with_release_as_a_dash(tree: Path) -> None:
    result = CliRunner().invoke(cli, ["list-workloads", "--repo", str(tree)])
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows == [
        ["WORKLOAD", "CONTAINER", "IMAGE", "RELEASE", "POLICY"],
        ["Deployment/prod/web", "app", "example.org/app:1.0.0", "-", "locked"],
        ["proxy", "nginx:1.25"],
        ["StatefulSet/default/db", "db", "example.org/db:15", "-", "automated"],
    ]
    assert result.exit_code == 0


def test_list_workloads_json_is_a_schema_1_document(tree: Path) -> None:
    result = CliRunner().invoke(
        cli, ["list-workloads", "--repo", str(tree), "-c", "proxy", "--output", "json"]
    )
    answer = json.loads(result.stdout)
    assert answer["schemaVersion"] == 1
    (web,) = answer["workloads"]
    assert (web["workload"], web["locked"], web["policy"]) == (
        "Deployment/prod/web",
        True,
        "locked",
    )
    assert [(c["container"], c["policy"]) for c in web["containers"]] == [
        ("app", "semver:~1"),
        ("proxy", None),
    ]


@pytest.mark.rig
def test_list_workloads_starts_without_heavy_modules(tree: Path) -> None:
    code = (
        "import sys\nfrom imagebot.cli import main\n"
        f"try:\n    main(['list-workloads', '--repo', {str(tree)!r}])\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('kopf', 'kubernetes', 'git', 'requests') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
