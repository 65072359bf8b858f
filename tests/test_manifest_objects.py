"""One walk over objects: every reader finds the same workloads in the same places."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from imagebot.cli import cli
from imagebot.manifest.annotate import SetAnnotation, edit_annotations
from imagebot.manifest.compose import compose_documents
from imagebot.manifest.objects import locate_workloads
from imagebot.manifest.scan import scan_file
from imagebot.model import KNOWN_KINDS, WorkloadId
from tests.workflow_cases import init_repo

DEPLOYMENT_LIST = """\
apiVersion: apps/v1
kind: DeploymentList
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
  spec:
    template:
      spec:
        containers:
        - name: app
          image: nginx:1.25
"""
WEB = WorkloadId("Deployment", None, "web")


def test_a_deployment_inside_a_deployment_list_is_found_by_every_reader() -> None:
    """Bug: the scanner read the items of any ``*List`` but the workload index only those of
    ``List``, so ``imagebot list`` showed the Deployment and ``imagebot lock`` found none."""
    scan = scan_file(DEPLOYMENT_LIST, "web.yaml", with_workloads=True)
    assert [t.workload for t in scan.targets] == [WEB]
    assert [w.id for w in scan.workloads] == [WEB]
    assert [identity for identity, _ in locate_workloads(compose_documents(DEPLOYMENT_LIST))] == [
        WEB
    ]
    edited = edit_annotations(DEPLOYMENT_LIST, WEB, [SetAnnotation("locked", "true")])
    assert '    annotations:\n      imagebot.io/locked: "true"\n' in edited


@pytest.mark.rig  # runs `imagebot lock` on a local Git work tree
def test_lock_finds_a_deployment_that_list_shows_in_a_deployment_list(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work", {"web.yaml": DEPLOYMENT_LIST.encode()})
    listed = CliRunner().invoke(cli, ["list", "--all", "--path", str(work)])
    assert "Deployment/default/web" in listed.stdout
    locked = CliRunner().invoke(cli, ["lock", "deployment/web", "--repo", str(work), "--dry-run"])
    assert locked.exit_code == 0, locked.output
    assert "+      imagebot.io/locked" in locked.stdout


def test_every_kind_the_docs_list_can_be_named_on_input_in_any_case() -> None:
    for kind in KNOWN_KINDS:
        assert WorkloadId.parse(f"{kind.lower()}/x").kind == kind
