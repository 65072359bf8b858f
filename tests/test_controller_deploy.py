"""deploy/ builds, and what it builds is safe: the CRD matches the code, RBAC grants only what the
operator needs, the Deployment runs locked down, and the sample automation parses.

The kustomization is built here in Python (resources + namespace, which is all the base uses) so
the check runs where kubectl is missing; where kubectl is present, its build must agree.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from imagebot.controller import crd
from imagebot.controller.spec import parse_spec

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}

# Everything the operator may do, as (role kind, apiGroup, resource, verb). Nothing more.
ALLOWED = {
    *(
        ("ClusterRole", "imagebot.io", "imageautomations", v)
        for v in ("get", "list", "watch", "patch")
    ),
    *(("ClusterRole", "imagebot.io", "imageautomations/status", v) for v in ("get", "patch")),
    ("ClusterRole", "", "events", "create"),
    ("ClusterRole", "events.k8s.io", "events", "create"),
    *(
        ("ClusterRole", "apps", r, v)
        for r in ("deployments", "statefulsets", "daemonsets")
        for v in ("get", "list")
    ),
    *(("ClusterRole", "batch", "cronjobs", v) for v in ("get", "list")),
    *(("ClusterRole", "helm.toolkit.fluxcd.io", "helmreleases", v) for v in ("get", "list")),
    *(("ClusterRole", "", "namespaces", v) for v in ("list", "watch")),
    *(
        ("ClusterRole", "kopf.dev", "clusterkopfpeerings", v)
        for v in ("get", "list", "watch", "patch")
    ),
    ("Role", "", "secrets", "get"),
    *(("Role", "kopf.dev", "kopfpeerings", v) for v in ("get", "list", "watch", "patch")),
}


def build() -> list[dict[str, Any]]:
    """What `kubectl kustomize deploy/` produces for this base (resources + namespace)."""
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    objects = []
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((DEPLOY / resource).read_text()):
            if document["kind"] not in CLUSTER_SCOPED:
                document["metadata"]["namespace"] = kustomization["namespace"]
            objects.append(document)
    return objects


def only(kind: str) -> list[dict[str, Any]]:
    return [o for o in build() if o["kind"] == kind]


def test_every_object_is_named_and_typed() -> None:
    for obj in build():
        assert obj["apiVersion"] and obj["kind"] and obj["metadata"]["name"], obj


@pytest.mark.rig
def test_kubectl_builds_the_same_objects() -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing: install kubernetes-client (scripts/bootstrap does)"
    rendered = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY)], check=True, capture_output=True, text=True
    ).stdout
    theirs = {
        (o["kind"], o["metadata"]["name"], o["metadata"].get("namespace"))
        for o in yaml.safe_load_all(rendered)
    }
    ours = {(o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")) for o in build()}
    assert theirs == ours


def test_crd_matches_the_names_the_code_uses() -> None:
    (definition,) = only("CustomResourceDefinition")
    spec = definition["spec"]
    assert definition["metadata"]["name"] == f"{crd.PLURAL}.{crd.GROUP}"
    assert (spec["group"], spec["names"]["plural"], spec["names"]["kind"]) == (
        crd.GROUP,
        crd.PLURAL,
        crd.KIND,
    )
    assert spec["scope"] == "Namespaced"
    (version,) = spec["versions"]
    assert version["name"] == crd.VERSION
    assert version["subresources"] == {"status": {}}
    assert {c["name"] for c in version["additionalPrinterColumns"]} >= {
        "Ready",
        "Last Commit",
        "Age",
    }
    assert version["schema"]["openAPIV3Schema"]["properties"]["spec"]["required"] == ["git"]


def test_rbac_grants_nothing_beyond_what_the_operator_needs() -> None:
    granted = {
        (role["kind"], group, resource, verb)
        for role in only("ClusterRole") + only("Role")
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert granted == ALLOWED


def test_secrets_are_readable_only_by_name_and_only_with_get() -> None:
    rules = [
        r
        for role in only("Role") + only("ClusterRole")
        for r in role["rules"]
        if "secrets" in r["resources"]
    ]
    assert rules, "the operator must be able to read the Secrets automations point at"
    for rule in rules:
        assert rule["verbs"] == ["get"]
        assert rule.get("resourceNames"), "secret access must name the secrets"
    assert not any(
        "*" in r["verbs"] or "*" in r["resources"]
        for role in only("ClusterRole") + only("Role")
        for r in role["rules"]
    )


def test_deployment_runs_locked_down_with_probes_and_limits() -> None:
    (deployment,) = only("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    (service,) = only("Service")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_sample_automation_is_a_valid_spec() -> None:
    (sample,) = only(crd.KIND)
    assert parse_spec(sample["spec"]).interval_seconds == 300


def test_dockerfile_is_multi_stage_pinned_and_non_root() -> None:
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    args = dict(ln.removeprefix("ARG ").split("=", 1) for ln in lines if ln.startswith("ARG "))
    assert ":" in args["BASE"] and "latest" not in args["BASE"]  # the default base is pinned
    stages: list[str] = []
    for line in (ln.split() for ln in lines if ln.startswith("FROM ")):
        source = line[1].replace("${PACKAGES}", args["PACKAGES"])
        assert source == "${BASE}" or source in stages, line  # the base, or an earlier stage
        stages += line[3:4]
    assert len(stages) >= 2
    assert "USER 10001:10001" in lines  # the Deployment's runAsUser and runAsGroup
    assert 'ENTRYPOINT ["imagebot"]' in lines
