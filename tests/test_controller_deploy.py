"""deploy/ builds, and what it builds is what users run: the base (``kubectl apply -k deploy/``,
one standalone replica) and the HA overlay (``deploy/ha/``, two replicas with kopf peering). The
CRD matches the code, RBAC grants exactly what the operator and kopf need in each mode, the
Deployment runs locked down, and the example automation parses.

The kustomizations are built here in Python (resources, namespace and JSON patches, all that
deploy/ uses) so the check runs where kubectl is missing; where kubectl is present, its build
must agree.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kopf
import pytest
import yaml
from kopf._cogs.structs import references
from kopf._core.engines.peering import guess_selectors

from imagebot.controller import crd
from imagebot.controller.spec import parse_spec

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
BASE, HA = DEPLOY, DEPLOY / "ha"
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
NAMESPACE = "imagebot-system"
BASE_ARGS = ["controller", "--namespace", NAMESPACE, "--standalone", "--webhook-port", "9292"]
HA_ARGS = [
    "controller",
    "--namespace",
    NAMESPACE,
    "--peering",
    "imagebot",
    "--peering-lifetime",
    "20s",
    "--webhook-port",
    "9292",
]

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
        ("ClusterRole", "apiextensions.k8s.io", "customresourcedefinitions", v)
        for v in ("list", "watch")
    ),
    ("Role", "", "secrets", "get"),
    # The deploy key Secret of an automation that names no SSH identity (issue 19).
    ("Role", "", "secrets", "create"),
}
HA_ALLOWED = ALLOWED | {
    ("Role", "kopf.dev", "kopfpeerings", v) for v in ("get", "list", "watch", "patch")
}

# Short names kubectl users already type. Flux's: fluxcd/image-reflector-controller and
# image-automation-controller, source-, kustomize- and helm-controller config/crd/bases.
FLUX_SHORT_NAMES = {
    "imgrepo", "imagerepo", "imgpol", "imagepol", "iua", "imgupd", "imgauto",
    "gitrepo", "helmrepo", "hc", "ocirepo", "ks", "hr",
}  # fmt: skip
# kubectl's built-in resources (`kubectl api-resources` on a bare cluster).
KUBERNETES_SHORT_NAMES = {
    "cs", "cm", "ep", "ev", "limits", "ns", "no", "pvc", "pv", "po", "rc", "quota", "sa", "svc",
    "crd", "crds", "deploy", "ds", "rs", "sts", "hpa", "cj", "csr", "ing", "netpol", "pdb",
    "pc", "sc", "ingclass", "eps",
}  # fmt: skip


def build(root: Path = BASE) -> list[dict[str, Any]]:
    """What `kubectl kustomize root` produces for deploy/'s kustomizations: resources (files or
    kustomization directories), namespace, and patches with a target and JSON patch operations."""
    kustomization = yaml.safe_load((root / "kustomization.yaml").read_text())
    objects: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        path = root / resource
        if path.is_dir():
            objects.extend(build(path))
        else:
            objects.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for obj in objects:
        if "namespace" in kustomization and obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = kustomization["namespace"]
    for patch in kustomization.get("patches", ()):
        target = patch["target"]
        (obj,) = [
            o
            for o in objects
            if (o["kind"], o["metadata"]["name"]) == (target["kind"], target["name"])
        ]
        for operation in yaml.safe_load(patch["patch"]):
            _apply(obj, operation)
    return objects


def _apply(obj: dict[str, Any], operation: dict[str, Any]) -> None:
    """One JSON patch (RFC 6902) `replace` or `add` operation."""
    assert operation["op"] in ("replace", "add"), operation
    *parents, last = operation["path"].strip("/").split("/")
    node: Any = obj
    for step in parents:
        node = node[int(step)] if isinstance(node, list) else node[step]
    if isinstance(node, list):
        node[int(last)] = copy.deepcopy(operation["value"])
    else:
        assert operation["op"] == "add" or last in node, operation
        node[last] = copy.deepcopy(operation["value"])


def only(kind: str, root: Path = BASE) -> list[dict[str, Any]]:
    return [o for o in build(root) if o["kind"] == kind]


def container(root: Path) -> dict[str, Any]:
    (deployment,) = only("Deployment", root)
    (found,) = deployment["spec"]["template"]["spec"]["containers"]
    return found


def arg(args: list[str], flag: str) -> str | None:
    return args[args.index(flag) + 1] if flag in args else None


@pytest.mark.parametrize("root", [BASE, HA], ids=["base", "ha"])
def test_every_object_is_named_and_typed(root: Path) -> None:
    for obj in build(root):
        assert obj["apiVersion"] and obj["kind"] and obj["metadata"]["name"], obj


@pytest.mark.rig
@pytest.mark.parametrize("root", [BASE, HA], ids=["base", "ha"])
def test_kubectl_builds_the_same_objects(root: Path) -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing: install kubernetes-client (scripts/bootstrap does)"
    rendered = subprocess.run(
        [kubectl, "kustomize", str(root)], check=True, capture_output=True, text=True
    ).stdout
    theirs = list(yaml.safe_load_all(rendered))

    def keys(objects: list[dict[str, Any]]) -> set[tuple[str, str, str | None]]:
        return {(o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")) for o in objects}

    assert keys(theirs) == keys(build(root))
    (deployment,) = [o for o in theirs if o["kind"] == "Deployment"]
    (ours,) = only("Deployment", root)
    assert deployment["spec"]["replicas"] == ours["spec"]["replicas"]
    assert deployment["spec"]["template"]["spec"] == ours["spec"]["template"]["spec"]


def test_the_base_is_one_standalone_replica_and_the_controller_only() -> None:
    (deployment,) = only("Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert container(BASE)["args"] == BASE_ARGS
    kinds = {o["kind"] for o in build(BASE)}
    assert kinds == {
        "Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole",
        "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service",
    }  # fmt: skip
    assert not any(o["kind"].startswith(("ClusterKopf", "Kopf")) for o in build(BASE))


def test_the_ha_overlay_runs_two_peered_replicas_with_the_peering_kopf_needs() -> None:
    (deployment,) = only("Deployment", HA)
    assert deployment["spec"]["replicas"] == 2
    args = container(HA)["args"]
    assert args == HA_ARGS
    definitions = {
        (d["spec"]["group"], d["spec"]["names"]["plural"]): d
        for d in only("CustomResourceDefinition", HA)
    }
    settings = _kopf_settings(args)
    (wanted,) = [s for s in guess_selectors(settings) if s.group == "kopf.dev"]
    assert settings.peering.namespaced, "--namespace makes kopf use namespaced KopfPeerings"
    definition = definitions[(wanted.group, wanted.any_name)]
    assert definition["spec"]["scope"] == "Namespaced"
    (version,) = definition["spec"]["versions"]
    assert (version["name"], version["served"], version["storage"]) == (wanted.version, True, True)
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
    assert status["x-kubernetes-preserve-unknown-fields"] is True  # kopf writes peers there
    assert definitions[("kopf.dev", "clusterkopfpeerings")]["spec"]["scope"] == "Cluster"
    # The peering object kopf meets the other replica at, where it looks for it.
    (peering,) = only(definition["spec"]["names"]["kind"], HA)
    assert peering["metadata"]["name"] == arg(args, "--peering")
    assert peering["metadata"]["namespace"] == arg(args, "--namespace")


def test_crd_matches_the_names_the_code_uses() -> None:
    (definition,) = [d for d in only("CustomResourceDefinition") if d["spec"]["group"] == crd.GROUP]
    spec = definition["spec"]
    assert definition["metadata"]["name"] == f"{crd.PLURAL}.{crd.GROUP}"
    assert (spec["group"], spec["names"]["plural"], spec["names"]["kind"]) == (
        crd.GROUP,
        crd.PLURAL,
        crd.KIND,
    )
    assert tuple(spec["names"]["shortNames"]) == crd.SHORT_NAMES
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


def test_short_names_are_not_flux_or_kubernetes_ones() -> None:
    (definition,) = [d for d in only("CustomResourceDefinition") if d["spec"]["group"] == crd.GROUP]
    names = definition["spec"]["names"]
    taken = FLUX_SHORT_NAMES | KUBERNETES_SHORT_NAMES
    assert names["shortNames"], "kubectl users expect a short name"
    assert not set(names["shortNames"]) & taken
    assert not {names["plural"], names["singular"]} & taken


def _kopf_settings(args: list[str]) -> kopf.OperatorSettings:
    """kopf's settings for these Deployment args, as ``imagebot controller`` sets them."""
    settings = kopf.OperatorSettings()
    settings.peering.standalone = "--standalone" in args
    settings.peering.clusterwide = "--namespace" not in args
    return settings


def _grants(root: Path, namespace: str) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) the operator's ServiceAccount may do in ``namespace``: rules
    of ClusterRoles bound cluster-wide, and of Roles bound there; rules limited to named
    objects are left out (kopf lists and watches)."""
    objects = build(root)
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    roles = {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
        for o in objects
        if o["kind"] in ("Role", "ClusterRole")
    }
    granted: set[tuple[str, str, str]] = set()
    for binding in objects:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        where = binding["metadata"].get("namespace")
        if where not in (None, namespace):
            continue
        if not any(
            s["kind"] == "ServiceAccount"
            and s["name"] == account
            and s["namespace"] == deployment["metadata"]["namespace"]
            for s in binding["subjects"]
        ):
            continue
        ref = binding["roleRef"]
        role = roles[(ref["kind"], where if ref["kind"] == "Role" else None, ref["name"])]
        for rule in role["rules"]:
            if rule.get("resourceNames"):
                continue
            granted |= {
                (g, r, v)
                for g in rule["apiGroups"]
                for r in rule["resources"]
                for v in rule["verbs"]
            }
    return granted


@pytest.mark.parametrize("root", [BASE, HA], ids=["base", "ha"])
def test_rbac_grants_what_kopf_reads_watches_and_patches_in_this_mode(root: Path) -> None:
    args = container(root)["args"]
    served = arg(args, "--namespace")
    assert served
    settings = _kopf_settings(args)
    kopf_lists = (references.NAMESPACES, references.CRDS)
    needed = {
        # kopf lists and watches namespaces (to resolve --namespace) and CRDs (to notice
        # resources come and go), and posts events.
        *((s.group or "", s.any_name, v) for s in kopf_lists for v in ("list", "watch")),
        (references.EVENTS.group or "", references.EVENTS.any_name, "create"),
        *((crd.GROUP, crd.PLURAL, v) for v in ("list", "watch", "patch")),
        (crd.GROUP, f"{crd.PLURAL}/status", "patch"),
        # The peering kopf uses in this mode (none standalone), only in kopf.dev: the CRDs
        # deploy/ha installs; zalando.org is kopf's legacy fallback.
        *(
            (s.group, s.any_name, v)
            for s in guess_selectors(settings)
            if s.group == "kopf.dev"
            for v in ("list", "watch", "patch")
        ),
    }
    assert needed - _grants(root, served) == set()
    if settings.peering.standalone:
        assert not any(g == "kopf.dev" for g, _, _ in _grants(root, served))


@pytest.mark.parametrize(
    ("root", "allowed"), [(BASE, ALLOWED), (HA, HA_ALLOWED)], ids=["base", "ha"]
)
def test_rbac_grants_nothing_beyond_what_the_operator_needs(
    root: Path, allowed: set[tuple[str, str, str, str]]
) -> None:
    granted = {
        (role["kind"], group, resource, verb)
        for role in only("ClusterRole", root) + only("Role", root)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert granted == allowed


@pytest.mark.parametrize("root", [BASE, HA], ids=["base", "ha"])
def test_secrets_are_readable_only_by_name_and_creatable_only_in_a_role(root: Path) -> None:
    roles = only("Role", root) + only("ClusterRole", root)
    rules = [r for role in roles for r in role["rules"] if "secrets" in r["resources"]]
    assert rules, "the operator must be able to read the Secrets automations point at"
    for rule in rules:
        assert rule["verbs"] in (["get"], ["create"]), rule
        if rule["verbs"] == ["get"]:
            assert rule.get("resourceNames"), "secret reads must name the secrets"
    for role in only("ClusterRole", root):
        assert not any("secrets" in r["resources"] for r in role["rules"]), "not cluster-wide"
    assert not any(
        "*" in r["verbs"] or "*" in r["resources"] for role in roles for r in role["rules"]
    )


@pytest.mark.parametrize("root", [BASE, HA], ids=["base", "ha"])
def test_deployment_runs_locked_down_with_probes_and_limits(root: Path) -> None:
    (deployment,) = only("Deployment", root)
    pod = deployment["spec"]["template"]["spec"]
    (found,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert found["securityContext"]["readOnlyRootFilesystem"] is True
    assert found["securityContext"]["allowPrivilegeEscalation"] is False
    assert set(found["resources"]) == {"requests", "limits"}
    assert found["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert found["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert arg(found["args"], "--webhook-port") == str(found["ports"][0]["containerPort"])
    (service,) = only("Service", root)
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_the_example_automation_is_a_valid_spec_where_the_operator_looks() -> None:
    assert not only(crd.KIND), "the base installs no automation: every installer would get it"
    (example,) = yaml.safe_load_all((DEPLOY / "examples" / "imageautomation.yaml").read_text())
    assert example["kind"] == crd.KIND and example["apiVersion"] == crd.API_VERSION
    assert example["metadata"]["namespace"] == arg(container(BASE)["args"], "--namespace")
    assert parse_spec(example["spec"]).interval_seconds == 300
    assert "deploy/examples/imageautomation.yaml" in (DEPLOY / "README.md").read_text()


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
