"""Kustomize images entries (kustomization files, Flux Kustomizations, HelmRelease post-renderers):
which annotation names which entry, how a kustomization file is named, and Flux's marker rule.

Each test names the finding of issue 16 it proves fixed.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagebot.cli import cli
from imagebot.errors import UsageError
from imagebot.manifest import scan_text, scan_tree
from imagebot.manifest.kustomize import entry_segment, name_entries
from imagebot.manifest.setters import marker_ref
from imagebot.manifest.workload_index import resolve
from imagebot.model import PolicySpec, Problem, ProblemCode, Target, WorkloadId
from imagebot.reconcile.lint import lint_tree

KUSTOMIZE_API = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"


def scan(
    text: str, file: str = "apps/web/kustomization.yaml"
) -> tuple[list[Target], list[Problem]]:
    return scan_text(textwrap.dedent(text).lstrip("\n"), file)


def policies(targets: list[Target]) -> dict[str, str | None]:
    """Each target's entry name (and field when not the tag) -> its policy text."""
    return {
        f"{t.container}{'' if t.field_part == 'tag' else ':' + t.field_part}": (
            t.policy.text if t.policy is not None else None
        )
        for t in targets
    }


def messages(problems: list[Problem]) -> list[str]:
    return [p.message for p in problems]


TWO_APPS = """
    apiVersion: kustomize.config.k8s.io/v1beta1
    kind: Kustomization
    metadata:
      annotations:
        imagebot.io/automated: "true"
        imagebot.io/tag.app: semver:~1.2
        imagebot.io/alias.legacy: docker.io/legacy/app
        imagebot.io/tag.legacy: glob:legacy-*
    images:
    - name: ghcr.io/acme/app
      newTag: 1.2.0
    - name: docker.io/legacy/app
      newName: registry.example.org/acme/legacy
      newTag: legacy-1
    - name: nginx
      newTag: "1.25"
    """


def test_kustomization_annotations_automate_its_entries_by_segment_and_alias() -> None:
    # issue 16: "Annotations on a Kustomization do nothing"
    targets, problems = scan(TWO_APPS)
    assert problems == []
    assert policies(targets) == {
        "ghcr.io/acme/app": "semver:~1.2",
        "docker.io/legacy/app": "glob:legacy-*",
        "nginx": "glob:*",  # automated, no policy of its own: Flux v1's default
    }
    assert targets[1].image.name == "registry.example.org/acme/legacy"  # newName is asked for
    assert {t.policy.source for t in targets if t.policy is not None} == {
        "annotation imagebot.io/tag.app",
        "annotation imagebot.io/tag.legacy",
        "default glob:* for automated workloads",
    }


@pytest.mark.parametrize(
    ("prefix", "group"),
    [
        pytest.param("flux.weave.works/", "v1", id="flux-v1-spelling-on-flux-v1"),
        pytest.param("fluxcd.io/", "v1beta2", id="fluxcd-spelling-on-v1beta2"),
        pytest.param("imagebot.io/", "v1", id="imagebot-spelling"),
    ],
)
def test_flux_kustomization_annotations_automate_spec_images(prefix: str, group: str) -> None:
    text = f"""
        apiVersion: kustomize.toolkit.fluxcd.io/{group}
        kind: Kustomization
        metadata:
          name: apps
          namespace: flux-system
          annotations:
            {prefix}automated: "true"
            {prefix}tag.podinfo: semver:~6.5
        spec:
          images:
          - name: ghcr.io/stefanprodan/podinfo
            newTag: 6.5.0
            digest: sha256:{"a" * 64}
        """
    targets, problems = scan(text, "clusters/apps.yaml")
    assert problems == []
    assert policies(targets) == {
        "ghcr.io/stefanprodan/podinfo": "semver:~6.5",
        "ghcr.io/stefanprodan/podinfo:digest": "semver:~6.5",
    }
    assert {str(t.workload) for t in targets} == {"Kustomization/flux-system/apps"}


def test_an_unautomated_kustomization_gives_its_entries_no_policy() -> None:
    targets, _ = scan(TWO_APPS.replace('automated: "true"', 'automated: "false"'))
    assert set(policies(targets).values()) == {None}


def test_a_policy_naming_no_entry_is_a_problem() -> None:
    # issue 16: "... and `lint` says nothing"
    text = KUSTOMIZE_API + (
        "metadata:\n  annotations:\n    fluxcd.io/automated: 'true'\n"
        "    fluxcd.io/tag.ap: semver:^1\nimages:\n- name: ghcr.io/acme/app\n  newTag: 1.0.0\n"
    )
    _, problems = scan(text)
    assert messages(problems) == [
        "annotation fluxcd.io/tag.ap names no images entry of Kustomization/apps/web "
        "(it has: app); fix the name or add an alias annotation"
    ]
    assert problems[0].line == 6


def test_a_policy_for_a_shared_segment_is_ambiguous_and_applied_to_neither() -> None:
    text = TWO_APPS.replace("        imagebot.io/alias.legacy: docker.io/legacy/app\n", "")
    targets, problems = scan(text)
    assert [m.split(":")[0] for m in messages(problems)] == [
        "annotation imagebot.io/tag.app of Kustomization/apps/web is ambiguous",
        "annotation imagebot.io/tag.legacy names no images entry of Kustomization/apps/web (it has",
    ]
    assert policies(targets)["ghcr.io/acme/app"] is None
    assert policies(targets)["docker.io/legacy/app"] is None


def test_an_alias_naming_no_entry_is_a_problem() -> None:
    text = TWO_APPS.replace("alias.legacy: docker.io/legacy/app", "alias.legacy: legacy/app")
    _, problems = scan(text)
    assert any(
        "annotation alias.legacy of Kustomization/apps/web names 'legacy/app', which is no "
        "images entry's name" in m
        for m in messages(problems)
    )


@pytest.mark.parametrize(
    ("name", "segment"),
    [
        ("ghcr.io/acme/app", "app"),
        ("nginx", "nginx"),
        ("localhost:5000/team/api", "api"),
        ("example.org/a/b/c:1.0", "c"),
    ],
)
def test_an_entry_is_named_by_the_last_segment_of_its_name(name: str, segment: str) -> None:
    assert entry_segment(name) == segment


def test_an_alias_replaces_the_segment_of_the_entry_it_names() -> None:
    named = name_entries(["ghcr.io/a/app", "ghcr.io/b/app", None], {"b": "ghcr.io/b/app"})
    assert dict(named.by_name) == {"app": (0,), "b": (1,)}
    assert dict(named.of) == {0: "app", 1: "b"}


HELM = """
    apiVersion: helm.toolkit.fluxcd.io/{version}
    kind: HelmRelease
    metadata:
      name: podinfo
      namespace: apps
      annotations:
        imagebot.io/automated: "true"
        imagebot.io/tag.podinfo: semver:~6.5
    spec:
      values:
        image: ghcr.io/acme/chart:1.0.0
      postRenderers:
      - kustomize:
          images:
          - name: ghcr.io/stefanprodan/podinfo
            newName: registry.example.org/podinfo
            newTag: 6.5.0
      - kustomize:
          images:
          - name: docker.io/acme/sidecar
            newTag: "1.0"
    """


@pytest.mark.parametrize("version", ["v2beta1", "v2beta2", "v2"])
def test_helmrelease_post_renderer_images_are_found_and_automated(version: str) -> None:
    # issue 16: "spec.postRenderers[].kustomize.images entries (newName/newTag) are not updated"
    targets, problems = scan(HELM.format(version=version), "apps/podinfo.yaml")
    assert problems == []
    assert policies(targets) == {
        "chart-image:image": "glob:*",
        "ghcr.io/stefanprodan/podinfo": "semver:~6.5",
        "docker.io/acme/sidecar": "glob:*",
    }
    entry = next(t for t in targets if t.container == "ghcr.io/stefanprodan/podinfo")
    assert entry.image.name == "registry.example.org/podinfo"
    assert entry.yaml_path == ("spec", "postRenderers", 0, "kustomize", "images", 0, "newTag")
    assert str(entry.workload) == "HelmRelease/apps/podinfo"


def test_a_helmrelease_policy_naming_neither_a_value_nor_an_entry_is_a_problem() -> None:
    text = HELM.format(version="v2").replace("tag.podinfo", "tag.podinfoo")
    _, problems = scan(text, "apps/podinfo.yaml")
    assert len(problems) == 1
    assert "has: podinfo, sidecar, chart-image" in problems[0].message


def test_flux_v1_helmreleases_have_no_post_renderers() -> None:
    text = HELM.format(version="v1").replace("helm.toolkit.fluxcd.io", "helm.fluxcd.io")
    targets, _ = scan(text, "apps/podinfo.yaml")
    assert [t.container for t in targets] == ["chart-image"]


@pytest.mark.parametrize(
    ("comment", "ref"),
    [
        pytest.param('# {"$imagepolicy": "ns:p:tag"}', "ns:p:tag", id="plain"),
        pytest.param('#{"$imagepolicy":"ns:p"}   ', "ns:p", id="tight-and-trailing-spaces"),
        pytest.param('## {"$imagepolicy": "ns:p"}', "ns:p", id="all-leading-hashes-cut"),
        pytest.param('# {"note": "x", "$imagepolicy": "ns:p"}', "ns:p", id="more-string-keys"),
        pytest.param('# {"$imagepolicy": "ns:p:tag"} pinned for QA', None, id="text-after"),
        pytest.param('# QA: {"$imagepolicy": "ns:p:tag"}', None, id="text-before"),
        pytest.param('# {"$imagepolicy": "ns:p", "n": 1}', None, id="a-value-not-a-string"),
        pytest.param('# {"$imagepolicy": ""}', None, id="empty-reference"),
        pytest.param('# ["$imagepolicy"]', None, id="not-an-object"),
    ],
)
def test_a_marker_is_a_comment_that_is_exactly_one_json_object_of_strings(
    comment: str, ref: str | None
) -> None:
    # issue 16: "Flux reads the whole comment as JSON and ignores it"
    assert marker_ref(comment) == ref


POLICY = """
    ---
    apiVersion: image.toolkit.fluxcd.io/v1beta2
    kind: ImageRepository
    metadata: {name: app, namespace: flux-system}
    spec: {image: ghcr.io/acme/app}
    ---
    apiVersion: image.toolkit.fluxcd.io/v1beta2
    kind: ImagePolicy
    metadata: {name: app, namespace: flux-system}
    spec:
      imageRepositoryRef: {name: app}
      policy: {semver: {range: ">=1.0.0"}}
    """


def test_a_marker_with_text_after_it_is_left_alone_and_warned_about() -> None:
    text = (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n"
        '    image: ghcr.io/acme/app:1.0.0 # {"$imagepolicy": "flux-system:app"} pinned for QA\n'
        + textwrap.dedent(POLICY)
    )
    targets, problems = scan_text(text, "apps/pod.yaml")
    assert [t.kind.value for t in targets] == ["container"]
    assert targets[0].policy is None
    assert [(p.line, p.code, p.message.split(":")[0]) for p in problems] == [
        (6, ProblemCode.MANIFEST_WARNING, "warning")
    ]
    assert "text after the marker: Flux ignores this marker" in problems[0].message


def test_a_marker_with_more_string_keys_still_counts() -> None:
    text = (
        "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: "
        'ghcr.io/acme/app:1.0.0 # {"why": "QA", "$imagepolicy": "flux-system:app"}\n'
        + textwrap.dedent(POLICY)
    )
    targets, problems = scan_text(text, "apps/pod.yaml")
    assert problems == []
    assert [(t.kind.value, t.policy) for t in targets] == [
        ("setter", PolicySpec("semver:>=1.0.0", "ImagePolicy flux-system/app"))
    ]


def test_a_comment_merely_mentioning_imagepolicy_is_no_finding() -> None:
    text = 'image: ghcr.io/acme/app:1.0.0 # see "$imagepolicy" in the Flux docs\n'
    assert scan_text(text, "a.yaml") == ([], [])


def test_lint_reports_the_marker_with_trailing_text(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        'images:\n- name: nginx\n  newTag: "1.25" # {"$imagepolicy": "f:p:tag"} pinned for QA\n'
    )
    assert [(p.file, p.line) for p in lint_tree(tmp_path)] == [("kustomization.yaml", 3)]


NAMED = KUSTOMIZE_API + (
    "metadata:\n  annotations:\n    note: x\nimages:\n- name: ghcr.io/acme/app\n"
    '  newName: ghcr.io/acme/app # {"$imagepolicy": "flux-system:app:name"}\n'
    "  newTag: 1.0.0\n"
)


def test_a_kustomization_file_is_named_by_its_directory() -> None:
    # issue 16: "`imagebot list` shows `Kustomization/default/?` for a marked `newName`"
    targets, problems = scan_text(NAMED + textwrap.dedent(POLICY), "apps/web/kustomization.yaml")
    assert problems == []
    assert {(t.field_part, str(t.workload)) for t in targets} == {
        ("name", "Kustomization/apps/web"),
        ("tag", "Kustomization/apps/web"),
    }


def test_a_kustomize_kustomization_in_a_file_of_another_name_is_named_by_its_path() -> None:
    targets, _ = scan_text(NAMED, "apps/web/extra.yaml")
    assert {str(t.workload) for t in targets} == {"Kustomization/apps/web/extra.yaml"}


def test_the_top_kustomization_is_named_dot() -> None:
    targets, _ = scan_text(NAMED, "kustomization.yaml")
    assert {str(t.workload) for t in targets} == {"Kustomization/."}


@pytest.mark.parametrize(
    ("typed", "directory"),
    [
        ("Kustomization/apps/web", "apps/web"),
        ("kustomization/overlays/prod/eu", "overlays/prod/eu"),
        ("Kustomization/base", "base"),
        ("Kustomization/.", "."),
    ],
)
def test_the_name_list_shows_is_accepted_back(typed: str, directory: str, tmp_path: Path) -> None:
    for place in ("apps/web", "overlays/prod/eu", "base", "."):
        (tmp_path / place).mkdir(parents=True, exist_ok=True)
        (tmp_path / place / "kustomization.yaml").write_text(NAMED.replace("\n  newName", "\n  x"))
    workloads = scan_tree(tmp_path, (), with_workloads=True).workloads
    found = resolve(WorkloadId.parse(typed), workloads)
    assert (found.id.name, found.file) == (
        directory,
        f"{directory}/kustomization.yaml".lstrip("./"),
    )
    assert found.containers == ("app",)


def test_a_directory_and_a_flux_kustomization_of_one_spelling_are_ambiguous(
    tmp_path: Path,
) -> None:
    (tmp_path / "flux-system" / "apps").mkdir(parents=True)
    (tmp_path / "flux-system" / "apps" / "kustomization.yaml").write_text(NAMED)
    (tmp_path / "flux.yaml").write_text(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata: {name: apps, namespace: flux-system}\nspec: {images: [{name: a, newTag: b}]}\n"
    )
    workloads = scan_tree(tmp_path, (), with_workloads=True).workloads
    with pytest.raises(UsageError, match="ambiguous"):
        resolve(WorkloadId.parse("Kustomization/flux-system/apps"), workloads)


def test_lint_reports_an_alias_on_a_workload_without_images_entries(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n"
        "    imagebot.io/alias.old: docker.io/old/app\nspec:\n  template:\n    spec:\n"
        "      containers:\n      - {name: app, image: 'nginx:1.0'}\n"
    )
    assert [(p.line, p.message.split(":")[0]) for p in lint_tree(tmp_path)] == [
        (6, "imagebot.io/alias.old has no effect")
    ]


def test_lint_reports_annotations_of_a_kustomization_that_name_no_entry(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "kustomization.yaml").write_text(
        TWO_APPS.replace("docker.io/legacy/app\n", "docker.io/legacy/ap\n", 1).replace(
            "\n    ", "\n"
        )
    )
    found = [p.message for p in lint_tree(tmp_path)]
    assert any("alias.legacy of Kustomization/app names 'docker.io/legacy/ap'" in m for m in found)
    assert any("imagebot.io/tag.app of Kustomization/app is ambiguous" in m for m in found)


def test_flux_kustomizations_without_images_or_annotations_are_no_workloads(
    tmp_path: Path,
) -> None:
    # The same Flux Kustomization in each cluster's directory is Flux's usual layout, not a
    # workload defined twice.
    for cluster in ("prod", "staging"):
        (tmp_path / cluster).mkdir()
        (tmp_path / cluster / "apps.yaml").write_text(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
            "metadata: {name: apps, namespace: flux-system}\nspec: {path: ./apps}\n"
        )
    assert scan_tree(tmp_path, (), with_workloads=True).workloads == ()
    assert lint_tree(tmp_path) == []


def test_a_marker_on_the_line_after_a_block_scalar_follows_no_value() -> None:
    text = 'data: |\n  text\n# {"$imagepolicy": "flux-system:app"}\nimage: nginx:1.0\n'
    targets, problems = scan_text(text, "a.yaml")
    assert [t.kind.value for t in targets] == []
    assert [(p.line, "follows no value on its line" in p.message) for p in problems] == [(3, True)]


def test_list_names_a_marked_new_name_by_its_directory(tmp_path: Path) -> None:
    # issue 16: "`imagebot list` shows `Kustomization/default/?` for a marked `newName`"
    (tmp_path / "apps" / "web").mkdir(parents=True)
    (tmp_path / "apps" / "web" / "kustomization.yaml").write_text(NAMED)
    (tmp_path / "flux.yaml").write_text(textwrap.dedent(POLICY))
    result = CliRunner().invoke(cli, ["list", "--all", "--repo", str(tmp_path), "--output", "json"])
    rows = json.loads(result.stdout)["targets"]
    assert {(r["field"], r["workload"], r["workloadName"]) for r in rows} == {
        ("name", "Kustomization/apps/web", "apps/web"),
        ("tag", "Kustomization/apps/web", "apps/web"),
    }


def test_a_policy_on_a_kustomization_without_entries_is_a_problem() -> None:
    text = KUSTOMIZE_API + (
        "metadata:\n  annotations:\n    imagebot.io/automated: 'true'\n"
        "    imagebot.io/tag.app: semver:^1\nresources: [deployment.yaml]\n"
    )
    _, problems = scan(text)
    assert [(p.line, "names no images entry" in p.message) for p in problems] == [(6, True)]
