"""Finding targets in one file's text: workloads, annotations, Helm values, Kustomize, setters."""

from __future__ import annotations

import textwrap

import pytest

from imagebot.manifest import c_composer_available, scan_text
from imagebot.manifest.annotations import DEFAULT_POLICY
from imagebot.manifest.compose import compose_documents
from imagebot.model import Automation, PolicySpec, Problem, Target, TargetKind


def deployment(annotations: str = "", containers: str = "- name: app\n  image: nginx:1.25") -> str:
    meta = f"  annotations:\n{textwrap.indent(annotations, '    ')}" if annotations else ""
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n"
        f"{meta}spec:\n  template:\n    spec:\n      containers:\n"
        f"{textwrap.indent(containers, '      ')}\n"
    )


def scan(text: str, file: str = "app.yaml") -> tuple[list[Target], list[Problem]]:
    return scan_text(textwrap.dedent(text) if text.startswith("\n") else text, file)


def only(targets: list[Target]) -> Target:
    assert len(targets) == 1, targets
    return targets[0]


def test_the_c_composer_is_the_one_in_use() -> None:
    # A TAB before a comment is valid YAML 1.2 that only libyaml accepts; marks must be offsets.
    assert c_composer_available()
    text = "a: b\t# tab\nimage: nginx:1.0\n"
    root = compose_documents(text)[0]
    value = root.value[1][1]
    assert text[value.start_mark.index : value.end_mark.index] == "nginx:1.0"


def test_a_target_records_where_it_stands_and_what_governs_it() -> None:
    text = "kind: Namespace\n---\n" + deployment("fluxcd.io/automated: 'true'\n")
    target = only(scan(text)[0])
    assert (target.location.file, target.location.line, target.location.column) == (
        "app.yaml",
        15,
        16,
    )
    assert target.location.document == 1
    assert str(target.workload) == "Deployment/shop/web"
    assert target.container == "app"
    assert target.image.name == "docker.io/library/nginx" and target.image.tag == "1.25"
    assert target.yaml_path == ("spec", "template", "spec", "containers", 0, "image")
    assert target.current_value == "nginx:1.25"


@pytest.mark.parametrize(
    ("annotations", "policy", "source"),
    [
        pytest.param("", None, "", id="not-automated"),
        pytest.param(
            "fluxcd.io/automated: 'true'\n",
            "glob:*",
            "default glob:* for automated workloads",
            id="automated-defaults-to-glob-star",
        ),
        pytest.param(
            "flux.weave.works/automated: 'true'\nflux.weave.works/tag.app: glob:1.*\n",
            "glob:1.*",
            "annotation flux.weave.works/tag.app",
            id="flux-weave-works",
        ),
        pytest.param(
            "imagebot.io/automated: 'true'\nimagebot.io/tag.app: semver:~1\n"
            "fluxcd.io/tag.app: glob:*\n",
            "semver:~1",
            "annotation imagebot.io/tag.app",
            id="imagebot-io-wins-over-fluxcd-io",
        ),
        pytest.param(
            "fluxcd.io/automated: 'true'\nfilter.fluxcd.io/app: regexp:^v\n",
            "regexp:^v",
            "annotation filter.fluxcd.io/app",
            id="filter-fluxcd-io",
        ),
        pytest.param(
            "fluxcd.io/automated: 'false'\nfluxcd.io/tag.app: glob:*\n", None, "", id="off"
        ),
    ],
)
def test_annotations_decide_the_policy_and_its_source(
    annotations: str, policy: str | None, source: str
) -> None:
    target = only(scan(deployment(annotations))[0])
    spec = target.policy
    assert (spec and spec.text, spec.source if spec else "", target.automated) == (
        policy,
        source,
        policy is not None,
    )


def test_automated_as_a_yaml_boolean_is_honoured_with_a_warning() -> None:
    targets, problems = scan(deployment("fluxcd.io/automated: true\n"))
    assert only(targets).automated
    assert len(problems) == 1 and "YAML boolean" in problems[0].message
    assert problems[0].line == 7


def test_a_policy_for_a_container_that_does_not_exist_is_a_problem() -> None:
    annotations = "fluxcd.io/automated: 'true'\nfluxcd.io/tag.flask: glob:*\n"
    targets, problems = scan(deployment(annotations))
    assert only(targets).policy == DEFAULT_POLICY
    assert len(problems) == 1
    assert "'flask'" in problems[0].message and "it has: app" in problems[0].message


def test_lock_and_ignore_are_carried_with_the_lock_message() -> None:
    annotations = (
        "imagebot.io/automated: 'true'\nimagebot.io/locked: 'true'\n"
        "imagebot.io/locked_msg: waiting for QA\nimagebot.io/locked_user: ana\n"
        "fluxcd.io/ignore: 'true'\n"
    )
    target = only(scan(deployment(annotations))[0])
    assert target.automation == Automation(
        automated=True,
        locked=True,
        locked_message="waiting for QA (locked by ana)",
        locked_user="ana",
        ignored=True,
    )


def test_the_seed_examples_broken_reference_is_a_problem_and_nginx_goes_on() -> None:
    containers = (
        "- name: nginx\n  image: nginx:1.16-perl\n- name: flask\n  image: docker.io//flaskapp:v1"
    )
    annotations = (
        "flux.weave.works/tag.flask: glob:develop-v*\nflux.weave.works/automated: 'true'\n"
    )
    targets, problems = scan(deployment(annotations, containers))
    assert [t.container for t in targets] == ["nginx"]
    assert only(problems).line == 16
    assert "empty path component" in problems[0].message


@pytest.mark.parametrize(
    ("text", "containers"),
    [
        pytest.param(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n"
            "    spec:\n      template:\n        spec:\n"
            "          containers: [{name: a, image: x}]\n",
            ["a"],
            id="cronjob",
        ),
        pytest.param(
            "kind: Pod\nmetadata: {name: p}\nspec:\n  initContainers: [{name: i, image: x}]\n"
            "  containers: [{name: a, image: x}]\n  ephemeralContainers: [{name: e, image: x}]\n",
            ["a", "i", "e"],
            id="pod-with-init-and-ephemeral",
        ),
        pytest.param(
            "apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  metadata: {name: p}\n"
            "  spec: {containers: [{name: a, image: x}]}\n",
            ["a"],
            id="list-item",
        ),
        pytest.param(
            "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: k}\n"
            "spec: {template: {spec: {containers: [{image: x}]}}}\n",
            ["user-container"],
            id="knative-service",
        ),
        pytest.param(
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\n"
            "spec: {template: {spec: {containers: [{name: a, image: x}]}}}\n",
            ["a"],
            id="argo-rollout",
        ),
        pytest.param(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
            "spec: {template: {spec: {containers: [{name: a, image: x}]}}}\n",
            [],
            id="plain-service-is-no-workload",
        ),
        pytest.param(
            "apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: s}\n"
            "spec: {template: {spec: {containers: [{name: a, image: x}]}}}\n",
            ["a"],
            id="crd-named-deployment-is-read-by-its-shape",  # issue 16: any kind, by shape
        ),
        pytest.param(
            "kind: ConfigMap\nmetadata: {name: c}\ndata:\n  d.yaml: |\n    kind: Pod\n"
            "    spec: {containers: [{name: a, image: x}]}\n",
            [],
            id="yaml-inside-a-block-scalar",
        ),
    ],
)
def test_workload_kinds_reach_their_containers(text: str, containers: list[str]) -> None:
    targets, problems = scan(text)
    assert sorted(t.container or "" for t in targets) == sorted(containers)
    assert not problems


def test_helmrelease_values_yield_flux_v1_container_names() -> None:
    targets, problems = scan(
        """
        apiVersion: helm.toolkit.fluxcd.io/v2
        kind: HelmRelease
        metadata:
          name: r
          annotations:
            fluxcd.io/automated: "true"
            filter.fluxcd.io/chart-image: semver:~4
        spec:
          values:
            image: {repository: ghcr.io/a/chart, tag: "4.1"}
            worker: {image: a/worker, registry: ghcr.io, tag: 2}
            proxy: {image: "envoyproxy/envoy:v1.29.0"}
            empty: {image: {repository: x, tag: ""}}
        """
    )
    found = {(t.container, str(t.image), t.field_part, t.policy and t.policy.text) for t in targets}
    assert found == {
        ("chart-image", "ghcr.io/a/chart:4.1", "tag", "semver:~4"),
        ("worker", "ghcr.io/a/worker:2", "tag", "glob:*"),
        ("proxy", "envoyproxy/envoy:v1.29.0", "image", "glob:*"),
    }
    assert not problems


def test_kustomize_images_use_new_name_and_pin_digest_fields() -> None:
    digest = "sha256:" + "1" * 64
    targets, _ = scan(
        f"images:\n- name: app\n  newName: ghcr.io/a/app\n  newTag: '1.0'\n"
        f"- name: db\n  digest: {digest}\n",
        "base/kustomization.yaml",
    )
    assert [(t.image.name, t.field_part, t.current_value) for t in targets] == [
        ("ghcr.io/a/app", "tag", "1.0"),
        ("docker.io/library/db", "digest", digest),
    ]
    assert str(targets[0].workload) == "Kustomization/base"


FLUX_OBJECTS = """
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {name: app, namespace: flux-system}
spec: {image: ghcr.io/a/app}
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata: {name: app, namespace: flux-system}
spec:
  imageRepositoryRef: {name: app}
  filterTags: {pattern: '^main-(?P<ts>[0-9]+)$', extract: '$ts'}
  policy: {%s}
"""


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        pytest.param("semver: {range: '>=1.0 <2'}", "semver:>=1.0 <2", id="semver"),
        pytest.param("alphabetical: {order: desc}", "alphabetical:desc", id="alphabetical"),
        pytest.param("numerical: {}", "numerical:asc", id="numerical-default-order"),
    ],
)
def test_setter_markers_resolve_through_image_policies(policy: str, expected: str) -> None:
    text = (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n"
        '    image: ghcr.io/a/app:main-1 # {"$imagepolicy": "flux-system:app"}\n'
    ) + FLUX_OBJECTS % policy
    target = only(scan(text)[0])
    assert target.kind is TargetKind.SETTER and target.automated
    assert target.policy == PolicySpec(
        expected, "ImagePolicy flux-system/app", "^main-(?P<ts>[0-9]+)$", "$ts"
    )
    assert target.container == "a"


@pytest.mark.parametrize(
    ("reflect", "annotations", "pinned"),
    [
        pytest.param("Never", "", False, id="never"),
        pytest.param("IfNotPresent", "", True, id="policy-reflects-digests"),
        pytest.param("Never", "imagebot.io/pin-digest: 'true'", True, id="workload-pins"),
    ],
)
def test_a_marked_value_pins_digests_when_its_policy_or_workload_says_so(
    reflect: str, annotations: str, pinned: bool
) -> None:
    text = (
        (
            f"kind: Pod\nmetadata:\n  name: p\n  annotations: {{{annotations}}}\nspec:\n"
            '  containers:\n  - name: a\n    image: ghcr.io/a/app:main-1 # {"$imagepolicy": '
            '"flux-system:app"}\n'
        )
        + (FLUX_OBJECTS % "numerical: {}")
        + f"  digestReflectionPolicy: {reflect}\n"
    )
    target = only(scan(text)[0])
    assert target.automation.pin_digest is pinned
    assert not target.automation.automated  # the marker automates this value alone


def test_a_marker_naming_a_policy_not_in_the_tree_is_a_problem() -> None:
    targets, problems = scan('tag: "1.0" # {"$imagepolicy": "flux-system:gone:tag"}\n')
    assert not targets
    assert only(problems).line == 1 and "not in the tree" in problems[0].message


def test_marker_text_inside_a_block_scalar_is_not_a_marker() -> None:
    text = 'kind: ConfigMap\ndata:\n  x: |\n    a: b # {"$imagepolicy": "ns:p"}\n'
    assert scan(text) == ([], [])


def test_a_document_with_a_repeated_key_yields_no_targets() -> None:
    text = deployment(containers="- name: app\n  image: nginx:1\n  image: nginx:2")
    targets, problems = scan(text)
    assert not targets
    assert only(problems).line == 12 and "appears twice" in problems[0].message


def test_a_helm_template_is_skipped_once_with_a_reason() -> None:
    targets, problems = scan("metadata:\n  name: {{ .Release.Name }}\n  {{- if x }}\n")
    assert not targets
    assert "Helm or Go template" in only(problems).message


def test_template_placeholders_in_values_are_not_references() -> None:
    text = deployment(containers='- name: app\n  image: "{{ .Values.image }}"')
    assert scan(text) == ([], [])


def test_a_template_that_happens_to_parse_is_skipped_too() -> None:
    text = deployment().replace("name: web", "name: {{ .Release.Name }}")
    targets, problems = scan(text)
    assert not targets
    assert only(problems).line == 4 and "Helm or Go template" in problems[0].message


def test_a_setter_marker_governs_a_kustomize_tag_found_both_ways() -> None:
    text = (
        "images:\n- name: ghcr.io/a/app\n"
        '  newTag: "1.0" # {"$imagepolicy": "flux-system:app:tag"}\n'
        + FLUX_OBJECTS
        % "semver: {range: 1.x}"
    )
    target = only(scan(text, "kustomization.yaml")[0])
    assert (target.kind, target.field_part, target.policy and target.policy.text) == (
        TargetKind.SETTER,
        "tag",
        "semver:1.x",
    )
