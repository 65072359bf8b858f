"""Annotation edits on YAML text: exact results for each formatting rule, and refusals."""

from __future__ import annotations

import pytest

from imagebot.errors import ManifestError, UsageError
from imagebot.manifest.annotate import SetAnnotation, edit_annotations
from imagebot.manifest.annotations import prefix_of
from imagebot.manifest.scan import scan_file
from imagebot.manifest.workload_index import Workload, resolve
from imagebot.model import WorkloadId

WEB = WorkloadId("Deployment", None, "web")


def doc(metadata: str) -> str:
    return f"kind: Deployment\nmetadata:\n{metadata}spec: {{}}\n"


def S(name: str, value: str | None = None) -> SetAnnotation:
    return SetAnnotation(name, value)


@pytest.mark.parametrize(
    ("metadata", "edits", "expected"),
    [
        pytest.param(
            "  name: web\n  annotations:\n    fluxcd.io/tag.web: glob:v*\n",
            [S("tag.web", "semver:~2")],
            "  name: web\n  annotations:\n    fluxcd.io/tag.web: semver:~2\n",
            id="a-changed-plain-value-stays-plain",
        ),
        pytest.param(
            "  name: web\n  annotations:\n    a: 'true'\n    b: c\n",
            [S("locked_msg", "it's broken")],
            "  name: web\n  annotations:\n    a: 'true'\n    b: c\n"
            "    imagebot.io/locked_msg: it's broken\n",
            id="a-plain-safe-value-is-plain-beside-plain-values",
        ),
        pytest.param(
            "  name: web\n  annotations:\n    a: 'x'\n",
            [S("locked_msg", "*broken*")],
            "  name: web\n  annotations:\n    a: 'x'\n    imagebot.io/locked_msg: '*broken*'\n",
            id="a-value-that-needs-quotes-takes-the-neighbours-quote",
        ),
        pytest.param(
            '  name: web\n  annotations:\n    "a": "x"\n',
            [S("automated", "true")],
            '  name: web\n  annotations:\n    "a": "x"\n    "imagebot.io/automated": "true"\n',
            id="quoted-keys-and-values-stay-the-style",
        ),
        pytest.param(
            "  name: web\n  annotations:\n    fluxcd.io/locked: 'true'\n",
            [S("locked", "false")],
            "  name: web\n  annotations:\n    fluxcd.io/locked: 'false'\n",
            id="a-quoted-value-keeps-its-quotes",
        ),
        pytest.param(
            "  name: web\n  annotations:\n    fluxcd.io/tag.web: 1.10\n",
            [S("tag.web", "1.10.1")],
            "  name: web\n  annotations:\n    fluxcd.io/tag.web: 1.10.1\n",
            id="a-number-like-value-that-is-a-string",
        ),
        pytest.param(
            "  name: web\n  annotations:\n    a: b\n",
            [S("tag.web", "1.10")],
            '  name: web\n  annotations:\n    a: b\n    imagebot.io/tag.web: "1.10"\n',
            id="a-value-that-would-read-as-a-float-is-quoted",
        ),
        pytest.param(
            "  name: web\n  annotations:\n    imagebot.io/tag.web: a\n    fluxcd.io/tag.web: b\n",
            [S("tag.web", "c")],
            "  name: web\n  annotations:\n    imagebot.io/tag.web: c\n",
            id="the-preferred-spelling-is-edited-the-others-removed",
        ),
        pytest.param(
            "  name: web\n  annotations:\n    filter.fluxcd.io/web: glob:v*\n",
            [S("tag.web")],
            "  name: web\n",
            id="filter-spelling-counts-as-the-tag-policy",
        ),
        pytest.param(
            "  name: web\n  annotations: {a: b,  imagebot.io/ignore: 'true',  e: f}\n",
            [S("ignore")],
            "  name: web\n  annotations: {a: b,  e: f}\n",
            id="flow-middle-entry-removed",
        ),
        pytest.param(
            "  name: web\n  annotations: {imagebot.io/ignore: 'true', c: d}\n",
            [S("ignore")],
            "  name: web\n  annotations: {c: d}\n",
            id="flow-first-entry-removed",
        ),
        pytest.param(
            "  name: web\n  annotations: {imagebot.io/ignore: 'true'}\n",
            [S("ignore")],
            "  name: web\n  annotations: {}\n",
            id="flow-only-entry-removed-leaves-an-empty-map",
        ),
        pytest.param(
            "  name: web\n  annotations: ~\n",
            [S("automated", "true")],
            '  name: web\n  annotations:\n    imagebot.io/automated: "true"\n',
            id="an-explicit-null-becomes-a-block-map",
        ),
        pytest.param(
            "  name: web\n  annotations:\n    a: |\n      two\n      lines\n",
            [S("automated", "true")],
            "  name: web\n  annotations:\n    a: |\n      two\n      lines\n"
            '    imagebot.io/automated: "true"\n',
            id="after-a-block-scalar",
        ),
    ],
)
def test_edit_writes_in_the_style_around_it(
    metadata: str, edits: list[SetAnnotation], expected: str
) -> None:
    assert edit_annotations(doc(metadata), WEB, edits) == doc(expected)


def test_an_edit_that_changes_nothing_returns_the_same_text() -> None:
    text = doc("  name: web\n  annotations:\n    fluxcd.io/automated: 'true'\n")
    assert edit_annotations(text, WEB, [S("automated", "true")]) == text
    assert edit_annotations(text, WEB, [S("locked")]) == text


def test_removing_the_last_annotation_at_the_end_keeps_no_final_newline() -> None:
    text = (
        "kind: Deployment\nmetadata:\n  name: web\n  annotations:\n    imagebot.io/locked: 'true'"
    )
    result = edit_annotations(text, WEB, [S("locked")])
    assert result == "kind: Deployment\nmetadata:\n  name: web"


@pytest.mark.parametrize(
    ("keys", "prefix"),
    [
        pytest.param([], "imagebot.io/", id="new-workloads-get-imagebot-io"),
        pytest.param(["team/owner", "fluxcd.io/automated"], "fluxcd.io/", id="fluxcd"),
        pytest.param(["flux.weave.works/tag.a"], "flux.weave.works/", id="flux-weave-works"),
        pytest.param(["filter.fluxcd.io/a"], "fluxcd.io/", id="filter-means-fluxcd"),
    ],
)
def test_a_workload_keeps_the_prefix_it_already_uses(keys: list[str], prefix: str) -> None:
    assert prefix_of(keys) == prefix


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "kind: ConfigMap\nmetadata: {name: web}\n", "is not in this file", id="absent"
        ),
        pytest.param(
            "kind: Deployment\nmetadata: {name: web}\n---\n"
            "kind: Deployment\nmetadata: {name: web}\n",
            "appears 2 times",
            id="twice",
        ),
        pytest.param(
            "kind: Deployment\nmetadata:\n  name: web\n  annotations: [a]\n",
            "not a mapping",
            id="annotations-a-list",
        ),
        pytest.param(
            "kind: Deployment\nmetadata:\n  name: web\n  annotations:\n    a: 1\n    a: 2\n",
            "appears twice",
            id="duplicate-annotation",
        ),
        pytest.param(
            "kind: Deployment\nspec: {template: {metadata: &m {name: web}}}\nmetadata: *m\n",
            "alias",
            id="metadata-an-alias",
        ),
        pytest.param(
            "kind: Deployment\nmetadata: &m {name: web}\nspec: {template: {metadata: *m}}\n",
            "used elsewhere",
            id="metadata-anchored-and-used-twice",
        ),
    ],
)
def test_edits_that_cannot_be_made_safely_are_refused(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        edit_annotations(text, WEB, [S("automated", "true")])


SEED_LIKE = """\
kind: Deployment
metadata: {name: web, namespace: prod}
---
kind: Deployment
metadata: {name: web, namespace: staging}
---
kind: StatefulSet
metadata: {name: web}
---
apiVersion: example.com/v1
kind: Deployment
metadata: {name: crd}
"""


def workloads_in(text: str, file: str) -> list[Workload]:
    return list(scan_file(text, file, with_workloads=True).workloads)


def test_ambiguous_workloads_list_every_candidate() -> None:
    workloads = workloads_in(SEED_LIKE, "all.yaml")
    with pytest.raises(UsageError, match="ambiguous") as error:
        resolve(WorkloadId.parse("deployment/web"), workloads)
    assert "Deployment/prod/web (all.yaml:1)" in str(error.value)
    assert "Deployment/staging/web (all.yaml:4)" in str(error.value)


def test_a_namespace_picks_one_and_a_crd_named_deployment_is_not_a_workload() -> None:
    workloads = workloads_in(SEED_LIKE, "all.yaml")
    assert resolve(WorkloadId.parse("staging:deployment/web"), workloads).line == 4
    assert resolve(WorkloadId.parse("statefulset/web", "anywhere"), workloads).line == 7
    with pytest.raises(UsageError, match=r"no workload Deployment/\*/crd"):
        resolve(WorkloadId.parse("deployment/crd"), workloads)


def test_a_missing_workload_names_the_ones_of_that_name() -> None:
    workloads = workloads_in(SEED_LIKE, "all.yaml")
    with pytest.raises(UsageError, match=r"candidates: .*StatefulSet/default/web") as error:
        resolve(WorkloadId.parse("daemonset/web"), workloads)
    assert "Deployment/prod/web" in str(error.value)
