"""The one workload identity: how it is written in output and read from input."""

from __future__ import annotations

import pytest

from imagebot.errors import UsageError
from imagebot.model import WorkloadId

WEB = WorkloadId("Deployment", None, "web")


@pytest.mark.parametrize(
    ("spec", "namespace", "expected"),
    [
        pytest.param("deployment/web", None, WEB, id="kind-name"),
        pytest.param("Deploy/web", "prod", WorkloadId("Deployment", "prod", "web"), id="alias"),
        pytest.param("prod:deployment/web", None, WorkloadId("Deployment", "prod", "web"), id="ns"),
        pytest.param("sts/web", None, WorkloadId("StatefulSet", None, "web"), id="sts"),
        pytest.param("DEPLOYMENT/web", None, WEB, id="any-case"),
        pytest.param(
            "Deployment/prod/web", None, WorkloadId("Deployment", "prod", "web"), id="output-form"
        ),
        pytest.param("widget/w", None, WorkloadId("widget", None, "w"), id="unknown-kind-as-is"),
    ],
)
def test_workload_specs_read_like_fluxctl_and_like_the_output(
    spec: str, namespace: str | None, expected: WorkloadId
) -> None:
    assert WorkloadId.parse(spec, namespace) == expected


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param("web", id="no-kind"),
        pytest.param("deployment/", id="no-name"),
        pytest.param(":deployment/web", id="empty-namespace"),
        pytest.param("a//c", id="empty-namespace-in-output-form"),
        pytest.param("a/b/c/d", id="too-many-slashes"),
        pytest.param("prod:a/b/c", id="namespace-twice"),
    ],
)
def test_malformed_workload_specs_say_how_to_write_them(spec: str) -> None:
    with pytest.raises(UsageError, match="KIND/NAME"):
        WorkloadId.parse(spec)


def test_a_namespace_given_twice_must_agree() -> None:
    with pytest.raises(UsageError, match="-n says 'prod'"):
        WorkloadId.parse("staging:deployment/web", "prod")
    assert WorkloadId.parse("prod:deployment/web", "prod").namespace == "prod"


@pytest.mark.parametrize(
    ("workload", "written"),
    [
        pytest.param(WorkloadId("Deployment", "shop", "web"), "Deployment/shop/web", id="ns"),
        pytest.param(WEB, "Deployment/default/web", id="no-namespace-is-default"),
        pytest.param(
            WorkloadId("Kustomization", None, "overlays/prod", directory=True),
            "Kustomization/overlays/prod",
            id="kustomization-directory",
        ),
    ],
)
def test_a_workload_is_written_one_way(workload: WorkloadId, written: str) -> None:
    assert str(workload) == written
    if not workload.directory:
        assert WorkloadId.parse(written) == WorkloadId(
            workload.kind, workload.namespace or "default", workload.name
        )


def test_commit_subjects_keep_kubectls_short_form() -> None:
    assert WorkloadId("Deployment", "shop", "web").short == "deployment/web"
