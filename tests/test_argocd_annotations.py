"""Argo CD Image Updater's annotations on an Application, read as that tool reads them.

One test (or table row) per row of the mapping table in docs/from-argocd-image-updater.md: the
policy each annotation makes, and the file and value Argo CD's git write-back would change.
Trees are written to tmp_path; the repository's own URLs are given, as the Git edge would.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from imagebot.manifest import rewrite_files, scan_tree
from imagebot.manifest.argocd_repo import normalise, same_repository
from imagebot.manifest.rewrite import Update
from imagebot.manifest.tree import TreeScan
from imagebot.model import ProblemCode, TagInfo, Target, TargetKind
from imagebot.policy import parse_policy, select_tag

OURS = "https://git.example.com/acme/deploy.git"
T0 = datetime(2024, 5, 1, tzinfo=UTC)
PREFIX = "argocd-image-updater.argoproj.io/"
KUSTOMIZATION = (
    "resources:\n- deployment.yaml\nimages:\n- name: ghcr.io/acme/web\n  newTag: 1.0.0\n"
)
DEPLOYMENT = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n"
    "    spec:\n      containers:\n      - name: web\n        image: ghcr.io/acme/web:1.0.0\n"
)


def application(
    annotations: Mapping[str, str],
    *,
    name: str = "web",
    path: str = "apps/web",
    repo: str = OURS,
    source: str = "",
    namespace: str = "argocd",
) -> str:
    lines = "".join(f"    {PREFIX}{key}: '{value}'\n" for key, value in annotations.items())
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n"
        f"  name: {name}\n  namespace: {namespace}\n  annotations:\n{lines}"
        f"spec:\n  source:\n    repoURL: {repo}\n    path: {path}\n{source}"
    )


def tree(tmp_path: Path, files: Mapping[str, str], *, urls: tuple[str, ...] = (OURS,)) -> TreeScan:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return scan_tree(tmp_path, only_automated=True, repository_urls=lambda: urls)


def kustomize_app(tmp_path: Path, annotations: Mapping[str, str], **more: str) -> TreeScan:
    files = {
        "apps/web/kustomization.yaml": KUSTOMIZATION,
        "apps/web/deployment.yaml": DEPLOYMENT,
        "argocd/web.yaml": application(
            {"write-back-method": "git", "write-back-target": "kustomization", **annotations}
        ),
        **more,
    }
    return tree(tmp_path, files)


def only(scan: TreeScan) -> Target:
    assert len(scan.targets) == 1, (scan.targets, scan.problems)
    return scan.targets[0]


def chosen(target: Target, tags: Mapping[str, int]) -> str | None:
    """The tag the target's policy picks among ``tags`` (tag -> hours after T0 it was built)."""
    assert target.policy is not None
    candidates = [TagInfo(tag, T0 + timedelta(hours=hours)) for tag, hours in tags.items()]
    decision = select_tag(parse_policy(target.policy), candidates, current=target.image.tag)
    return decision.chosen.tag if decision.chosen else None


TAGS = {"1.0.0": 0, "1.1.0": 3, "1.2.0-rc.1": 4, "2.0.0": 1, "zeta": 2, "1.1.1": 5}


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        pytest.param({"image-list": "web=ghcr.io/acme/web"}, "2.0.0", id="semver-is-the-default"),
        pytest.param({"image-list": "web=ghcr.io/acme/web:~1.1"}, "1.1.1", id="semver-constraint"),
        pytest.param(
            {"image-list": "web=ghcr.io/acme/web", "web.update-strategy": "semver"},
            "2.0.0",
            id="semver-named",
        ),
        pytest.param(
            {"image-list": "web=ghcr.io/acme/web:>=1.2.0-0"}, "2.0.0", id="semver-prerelease-range"
        ),
        pytest.param(
            {"image-list": "web=ghcr.io/acme/web", "web.update-strategy": "newest-build"},
            "1.1.1",
            id="newest-build",
        ),
        pytest.param(
            {"image-list": "web=ghcr.io/acme/web", "web.update-strategy": "latest"},
            "1.1.1",
            id="latest-is-newest-build",
        ),
        pytest.param(
            {"image-list": "web=ghcr.io/acme/web", "web.update-strategy": "alphabetical"},
            "zeta",
            id="alphabetical",
        ),
        pytest.param(
            {"image-list": "web=ghcr.io/acme/web", "web.update-strategy": "name"},
            "zeta",
            id="name-is-alphabetical",
        ),
        pytest.param(
            {
                "image-list": "web=ghcr.io/acme/web",
                "web.update-strategy": "alphabetical",
                "web.allow-tags": "regexp:^1\\.",
            },
            "1.2.0-rc.1",
            id="allow-tags-regexp",
        ),
        pytest.param(
            {"image-list": "web=ghcr.io/acme/web", "web.allow-tags": "any"}, "2.0.0", id="allow-any"
        ),
        pytest.param(
            {
                "image-list": "web=ghcr.io/acme/web",
                "web.update-strategy": "newest-build",
                "web.allow-tags": "regexp:rc",
            },
            "1.2.0-rc.1",
            id="allow-tags-unanchored",
        ),
        pytest.param(
            {"image-list": "web=ghcr.io/acme/web", "web.ignore-tags": "2.*, 1.1.?"},
            "1.2.0-rc.1",
            id="ignore-tags-globs",
        ),
        pytest.param(
            {"image-list": "web=ghcr.io/acme/web", "update-strategy": "newest-build"},
            "1.1.1",
            id="application-wide-strategy",
        ),
        pytest.param(
            {
                "image-list": "web=ghcr.io/acme/web",
                "update-strategy": "newest-build",
                "web.update-strategy": "alphabetical",
            },
            "zeta",
            id="alias-wins-over-application-wide",
        ),
        pytest.param(
            {"image-list": "web=ghcr.io/acme/web", "allow-tags": "regexp:^1\\.1"},
            "1.1.1",
            id="application-wide-allow-tags",
        ),
        pytest.param(
            {"image-list": "web=ghcr.io/acme/web", "ignore-tags": "2.0.0"},
            "1.2.0-rc.1",
            id="application-wide-ignore-tags",
        ),
        pytest.param(
            {"image-list": "w=ghcr.io/acme/web", "w.update-strategy": "alphabetical"},
            "zeta",
            id="alias-names-the-annotations",
        ),
    ],
)
def test_annotations_make_the_policy_argo_cd_image_updater_follows(
    tmp_path: Path, annotations: dict[str, str], expected: str
) -> None:
    target = only(kustomize_app(tmp_path, annotations))
    assert chosen(target, TAGS) == expected


def test_an_image_without_alias_takes_only_the_application_wide_options(
    tmp_path: Path,
) -> None:
    """Argo CD Image Updater reads an unnamed image's options under an empty alias: its
    ``acme_web.*`` keys do nothing, the application-wide ones apply."""
    files = {
        "apps/web/kustomization.yaml": KUSTOMIZATION.replace("ghcr.io/acme/web", "acme/web"),
        "argocd/web.yaml": application(
            {
                "image-list": "acme/web",
                "acme_web.update-strategy": "alphabetical",
                "acme_web.kustomize.image-name": "other",
                "allow-tags": "regexp:^1",
                "write-back-target": "kustomization",
            }
        ),
    }
    target = only(tree(tmp_path, files))
    assert target.container == "acme_web"  # how list and commit messages name it
    assert target.policy is not None
    assert (target.policy.text, target.policy.filter_pattern) == ("semver:>=0.0.0-0", "^1")


def test_helm_values_of_an_unnamed_image_are_named_by_its_path(tmp_path: Path) -> None:
    files = {
        "charts/web/values.yaml": VALUES,
        "argocd/web.yaml": application(
            {
                "image-list": "ghcr.io/acme/web",
                "acme_web.helm.image-name": "web.image.repository",
                "acme_web.helm.image-tag": "web.image.tag",
                "write-back-target": "helmvalues",
            },
            path="charts/web",
        ),
    }
    assert only(tree(tmp_path, files)).yaml_path == ("web", "image", "tag")


def test_an_unnamed_images_argocd_source_parameters_are_image_name_and_tag(
    tmp_path: Path,
) -> None:
    existing = (
        "helm:\n  parameters:\n  - name: web.tag\n    value: 9.9.9\n"
        "  - name: image.tag\n    value: 1.0.0\n"
    )
    files = {
        "charts/web/Chart.yaml": "name: web\n",
        "charts/web/.argocd-source-web.yaml": existing,
        "argocd/web.yaml": application(
            {"image-list": "ghcr.io/acme/web", "acme_web.helm.image-tag": "web.tag"},
            path="charts/web",
        ),
    }
    assert only(tree(tmp_path, files)).yaml_path == ("helm", "parameters", 1, "value")


def test_a_port_in_the_registry_is_no_constraint(tmp_path: Path) -> None:
    kustomization = KUSTOMIZATION.replace("ghcr.io/acme/web", "localhost:5000/web")
    files = {
        "apps/web/kustomization.yaml": kustomization,
        "argocd/web.yaml": application(
            {"image-list": "web=localhost:5000/web", "write-back-target": "kustomization"}
        ),
    }
    target = only(tree(tmp_path, files))
    assert target.policy is not None and target.policy.text == "semver:>=0.0.0-0"


DIGEST = "sha256:" + "a" * 64


def test_the_digest_strategy_pins_the_named_tag_in_a_kustomization(tmp_path: Path) -> None:
    """Argo CD Image Updater's ``kustomize edit set image name:tag@digest``: the entry's newTag
    keeps the tag, its digest field takes the digest."""
    pinned = KUSTOMIZATION.replace("newTag: 1.0.0", f"newTag: latest\n  digest: {DIGEST}")
    scan = kustomize_app(
        tmp_path,
        {"image-list": "web=ghcr.io/acme/web:latest", "web.update-strategy": "digest"},
        **{"apps/web/kustomization.yaml": pinned},
    )
    assert [t.field_part for t in scan.targets] == ["tag", "digest"]
    assert all(t.automation.pin_digest for t in scan.targets)
    policy = scan.targets[0].policy
    assert policy is not None and policy.text == "glob:latest"
    assert chosen(scan.targets[0], {"latest": 0, "1.1.1": 5}) == "latest"


def test_the_digest_strategy_needs_a_digest_field(tmp_path: Path) -> None:
    scan = kustomize_app(
        tmp_path, {"image-list": "web=ghcr.io/acme/web:latest", "web.update-strategy": "digest"}
    )
    assert scan.targets == ()
    assert "has no digest field" in scan.problems[-1].message


def test_the_digest_strategy_needs_a_tag_to_follow(tmp_path: Path) -> None:
    scan = kustomize_app(
        tmp_path, {"image-list": "web=ghcr.io/acme/web", "web.update-strategy": "digest"}
    )
    assert scan.targets == ()
    assert [p.code for p in scan.problems] == [ProblemCode.INVALID_POLICY]


def test_the_digest_strategy_pins_an_argocd_source_item(tmp_path: Path) -> None:
    files = {
        "apps/web/kustomization.yaml": KUSTOMIZATION.replace("newTag: 1.0.0", "newTag: latest"),
        "argocd/web.yaml": application(
            {"image-list": "web=ghcr.io/acme/web:latest", "web.update-strategy": "digest"}
        ),
    }
    scan = tree(tmp_path, files)
    found = only(scan)
    assert (found.kind, found.automation.pin_digest) == (TargetKind.ARGOCD, True)
    new = rewrite_files(scan.texts, [Update(found, "latest", DIGEST)]).new_texts
    assert new == {
        found.location.file: f"kustomize:\n  images:\n  - ghcr.io/acme/web:latest@{DIGEST}\n"
    }


def test_the_digest_strategy_cannot_write_a_tag_only_helm_key(tmp_path: Path) -> None:
    files = {
        "charts/web/values.yaml": VALUES,
        "argocd/web.yaml": application(
            {
                "image-list": "web=ghcr.io/acme/web:1.0.0",
                "web.update-strategy": "digest",
                "web.helm.image-name": "web.image.repository",
                "web.helm.image-tag": "web.image.tag",
                "write-back-target": "helmvalues",
            },
            path="charts/web",
        ),
    }
    scan = tree(tmp_path, files)
    assert scan.targets == ()
    assert "helm.image-spec" in scan.problems[-1].message


def test_an_unknown_strategy_is_semver_with_a_warning(tmp_path: Path) -> None:
    scan = kustomize_app(
        tmp_path, {"image-list": "web=ghcr.io/acme/web", "web.update-strategy": "newest"}
    )
    assert chosen(only(scan), TAGS) == "2.0.0"
    assert [p.code for p in scan.problems] == [ProblemCode.MANIFEST_WARNING]


def test_allow_tags_that_argo_reads_as_match_nothing_updates_nothing(tmp_path: Path) -> None:
    scan = kustomize_app(tmp_path, {"image-list": "web=ghcr.io/acme/web", "web.allow-tags": "^1"})
    assert scan.targets == ()
    assert [p.code for p in scan.problems] == [ProblemCode.INVALID_POLICY]


@pytest.mark.parametrize(
    ("annotations", "warned"),
    [
        pytest.param({"write-back-method": "argocd"}, "in the cluster", id="method-argocd"),
        pytest.param({"write-back-method": "git:secret:argocd/creds"}, "Secret", id="git-secret"),
        pytest.param({"web.pull-secret": "pullsecret:argocd/hub"}, "Secret", id="pull-secret"),
        pytest.param({"pull-secret": "env:HUB"}, "Secret", id="app-wide-pull-secret"),
        pytest.param({"git-branch": "main:image-updates"}, "--push-branch", id="git-branch"),
        pytest.param({"web.platforms": "linux/arm64"}, "platform", id="platforms"),
        pytest.param({"web.force-update": "true"}, "not read", id="force-update"),
    ],
)
def test_what_imagebot_does_not_follow_is_a_warning_and_the_rest_goes_on(
    tmp_path: Path, annotations: dict[str, str], warned: str
) -> None:
    scan = kustomize_app(tmp_path, {"image-list": "web=ghcr.io/acme/web", **annotations})
    assert only(scan).location.file == "apps/web/kustomization.yaml"
    assert len(scan.problems) == 1, scan.problems
    assert scan.problems[0].code is ProblemCode.MANIFEST_WARNING
    assert warned in scan.problems[0].message


def test_no_write_back_method_is_argo_cds_default_and_warned_about(tmp_path: Path) -> None:
    files = {
        "apps/web/kustomization.yaml": KUSTOMIZATION,
        "argocd/web.yaml": application(
            {"image-list": "ghcr.io/acme/web", "write-back-target": "kustomization"}
        ),
    }
    scan = tree(tmp_path, files)
    assert only(scan).location.file == "apps/web/kustomization.yaml"
    assert "write-back-method 'argocd'" in scan.problems[0].message


@pytest.mark.parametrize(
    ("target", "kustomization"),
    [
        pytest.param("kustomization", "apps/web/kustomization.yaml", id="app-path"),
        pytest.param("kustomization:../base", "apps/base/kustomization.yaml", id="relative"),
        pytest.param("kustomization:/base", "base/kustomization.yaml", id="from-the-top"),
    ],
)
def test_kustomization_write_back_changes_the_entrys_new_tag(
    tmp_path: Path, target: str, kustomization: str
) -> None:
    files = {
        kustomization: KUSTOMIZATION,
        "argocd/web.yaml": application(
            {
                "image-list": "ghcr.io/acme/web",
                "write-back-method": "git",
                "write-back-target": target,
            }
        ),
    }
    found = only(tree(tmp_path, files))
    assert (found.location.file, found.field_part) == (kustomization, "tag")
    assert str(found.workload) == "Application/argocd/web"


def test_kustomize_image_name_names_the_entry(tmp_path: Path) -> None:
    kustomization = KUSTOMIZATION.replace(
        "name: ghcr.io/acme/web", "name: web\n  newName: ghcr.io/acme/web"
    )
    files = {
        "apps/web/kustomization.yaml": kustomization,
        "argocd/web.yaml": application(
            {
                "image-list": "w=ghcr.io/acme/web",
                "w.kustomize.image-name": "web",
                "write-back-target": "kustomization",
            }
        ),
    }
    assert only(tree(tmp_path, files)).image.name == "ghcr.io/acme/web"


def test_a_kustomization_without_the_entry_is_a_problem(tmp_path: Path) -> None:
    scan = kustomize_app(tmp_path, {"image-list": "ghcr.io/acme/other"})
    assert scan.targets == ()
    assert "no images entry named 'ghcr.io/acme/other'" in scan.problems[0].message


VALUES = (
    "web:\n  image:\n    repository: ghcr.io/acme/web\n    tag: 1.0.0\n"
    "  full: ghcr.io/acme/web:1.0.0\n"
)


@pytest.mark.parametrize(
    ("target", "values"),
    [
        pytest.param("helmvalues", "charts/web/values.yaml", id="values-yaml"),
        pytest.param("helmvalues:env/prod.yaml", "charts/web/env/prod.yaml", id="relative"),
        pytest.param("helmvalues:/prod/values.yaml", "prod/values.yaml", id="from-the-top"),
    ],
)
def test_helm_values_write_back_changes_the_image_tag_key(
    tmp_path: Path, target: str, values: str
) -> None:
    files = {
        values: VALUES,
        "argocd/web.yaml": application(
            {
                "image-list": "web=ghcr.io/acme/web",
                "web.helm.image-name": "web.image.repository",
                "web.helm.image-tag": "web.image.tag",
                "write-back-method": "git",
                "write-back-target": target,
            },
            path="charts/web",
        ),
    }
    found = only(tree(tmp_path, files))
    assert (found.location.file, found.yaml_path, found.field_part) == (
        values,
        ("web", "image", "tag"),
        "tag",
    )
    new = rewrite_files({values: VALUES}, [Update(found, "1.1.0")]).new_texts[values]
    assert new == VALUES.replace("tag: 1.0.0", "tag: 1.1.0")


def test_helm_image_spec_names_a_key_with_the_whole_reference(tmp_path: Path) -> None:
    files = {
        "charts/web/values.yaml": VALUES,
        "argocd/web.yaml": application(
            {
                "image-list": "web=ghcr.io/acme/web",
                "web.helm.image-spec": "web.full",
                "write-back-target": "helmvalues",
            },
            path="charts/web",
        ),
    }
    found = only(tree(tmp_path, files))
    new = rewrite_files({found.location.file: VALUES}, [Update(found, "1.1.0")]).new_texts
    assert new["charts/web/values.yaml"] == VALUES.replace(
        "full: ghcr.io/acme/web:1.0.0", "full: ghcr.io/acme/web:1.1.0"
    )


def test_helm_values_without_the_name_annotations_is_a_problem(tmp_path: Path) -> None:
    files = {
        "charts/web/values.yaml": VALUES,
        "argocd/web.yaml": application(
            {"image-list": "web=ghcr.io/acme/web", "write-back-target": "helmvalues"},
            path="charts/web",
        ),
    }
    scan = tree(tmp_path, files)
    assert scan.targets == ()
    assert "helm.image-name" in scan.problems[-1].message


def test_the_default_write_back_seeds_the_argocd_source_file(tmp_path: Path) -> None:
    files = {
        "apps/web/kustomization.yaml": KUSTOMIZATION,
        "apps/web/deployment.yaml": DEPLOYMENT,
        "argocd/web.yaml": application(
            {"image-list": "ghcr.io/acme/web", "write-back-method": "git"}
        ),
    }
    scan = tree(tmp_path, files)
    found = only(scan)
    file = "apps/web/.argocd-source-web.yaml"
    assert found.location.file == file
    seeded = scan.texts[file]
    assert seeded == "kustomize:\n  images:\n  - ghcr.io/acme/web:1.0.0\n"
    new = rewrite_files(scan.texts, [Update(found, "1.1.0")]).new_texts
    assert new == {file: "kustomize:\n  images:\n  - ghcr.io/acme/web:1.1.0\n"}
    assert not (tmp_path / file).exists()  # the scan only reads: writing is the run's


def test_an_existing_argocd_source_file_is_updated_in_place(tmp_path: Path) -> None:
    existing = (
        "# kept\nkustomize:\n  images:\n  - other:1\n  - web=ghcr.io/acme/web:1.0.0  # kept too\n"
    )
    files = {
        "apps/web/kustomization.yaml": KUSTOMIZATION,
        "apps/web/.argocd-source-web.yaml": existing,
        "argocd/web.yaml": application(
            {"image-list": "ghcr.io/acme/web", "write-back-method": "git"}
        ),
    }
    scan = tree(tmp_path, files)
    found = only(scan)
    new = rewrite_files(scan.texts, [Update(found, "1.1.0")]).new_texts
    assert new == {found.location.file: existing.replace(":1.0.0", ":1.1.0")}


SOURCE_FILE = "kustomize:\n  images:\n  - ghcr.io/acme/web:1.0.0\n"


def test_the_namespaced_argocd_source_file_is_used_where_it_exists(tmp_path: Path) -> None:
    files = {
        "apps/web/kustomization.yaml": KUSTOMIZATION,
        "apps/web/.argocd-source-team_web.yaml": SOURCE_FILE,
        "argocd/web.yaml": application({"image-list": "ghcr.io/acme/web"}, namespace="team"),
    }
    assert only(tree(tmp_path, files)).location.file == "apps/web/.argocd-source-team_web.yaml"


def test_helm_parameters_in_an_argocd_source_file(tmp_path: Path) -> None:
    existing = (
        "helm:\n  parameters:\n  - name: image.name\n    value: ghcr.io/acme/web\n"
        "    forcestring: true\n  - name: image.tag\n    value: 1.0.0\n    forcestring: true\n"
    )
    files = {
        "charts/web/Chart.yaml": "name: web\n",
        "charts/web/.argocd-source-web.yaml": existing,
        "argocd/web.yaml": application({"image-list": "ghcr.io/acme/web"}, path="charts/web"),
    }
    scan = tree(tmp_path, files)
    found = only(scan)
    assert found.yaml_path == ("helm", "parameters", 1, "value")
    new = rewrite_files(scan.texts, [Update(found, "1.1.0")]).new_texts
    assert new == {found.location.file: existing.replace("value: 1.0.0", "value: 1.1.0")}


def test_a_missing_helm_argocd_source_file_is_a_problem(tmp_path: Path) -> None:
    files = {
        "charts/web/Chart.yaml": "name: web\n",
        "argocd/web.yaml": application({"image-list": "ghcr.io/acme/web"}, path="charts/web"),
    }
    scan = tree(tmp_path, files)
    assert scan.targets == ()
    assert "Kustomize applications only" in scan.problems[-1].message


@pytest.mark.parametrize(
    "url",
    [
        "https://git.example.com/acme/deploy.git",
        "https://git.example.com/acme/deploy",
        "https://git.example.com/acme/deploy/",
        "https://token@GIT.example.com/acme/deploy.git",
        "ssh://git@git.example.com:22/acme/deploy.git",
        "git@git.example.com:acme/deploy.git",
        "http://git.example.com:8080/acme/deploy",
    ],
)
def test_repo_urls_compare_whatever_the_spelling(url: str) -> None:
    assert same_repository(url, [OURS])


@pytest.mark.parametrize(
    "url",
    [
        "https://git.example.com/acme/other.git",
        "https://git.example.com/Acme/deploy.git",
        "https://gitlab.example.com/acme/deploy.git",
    ],
)
def test_other_repositories_differ(url: str) -> None:
    assert not same_repository(url, [OURS])


def test_local_paths_compare_as_absolute_paths() -> None:
    assert normalise("/srv/git/deploy.git/") == normalise("file:///srv/git/deploy.git")


def test_an_application_of_another_repository_is_left_alone(tmp_path: Path) -> None:
    files = {
        "apps/web/kustomization.yaml": KUSTOMIZATION,
        "argocd/web.yaml": application(
            {"image-list": "ghcr.io/acme/web", "write-back-target": "kustomization"},
            repo="https://git.example.com/acme/other.git",
        ),
    }
    scan = tree(tmp_path, files)
    assert scan.targets == ()
    assert "another repository" in scan.problems[-1].message


def test_without_a_remote_no_application_is_followed(tmp_path: Path) -> None:
    files = {
        "apps/web/kustomization.yaml": KUSTOMIZATION,
        "argocd/web.yaml": application(
            {"image-list": "ghcr.io/acme/web", "write-back-target": "kustomization"}
        ),
    }
    scan = tree(tmp_path, files, urls=())
    assert scan.targets == ()
    assert "no remote" in scan.problems[-1].message


def test_of_several_sources_the_one_of_this_repository_is_written(tmp_path: Path) -> None:
    sources = (
        "  sources:\n  - repoURL: https://charts.example.com\n    chart: web\n"
        f"  - repoURL: {OURS}\n    path: apps/web\n"
    )
    text = application({"image-list": "ghcr.io/acme/web", "write-back-target": "kustomization"})
    text = text.split("spec:\n")[0] + "spec:\n" + sources
    files = {"apps/web/kustomization.yaml": KUSTOMIZATION, "argocd/web.yaml": text}
    assert only(tree(tmp_path, files)).location.file == "apps/web/kustomization.yaml"


def test_the_applications_file_is_among_the_texts_a_cycle_observed(tmp_path: Path) -> None:
    """A changed annotation (a new allow-tags) must change what the skip-if-unchanged
    fingerprint sees, though the Application holds no value that is rewritten."""
    scan = kustomize_app(tmp_path, {"image-list": "ghcr.io/acme/web"})
    assert "argocd/web.yaml" in scan.texts
    assert only(scan).location.file == "apps/web/kustomization.yaml"


def test_another_write_back_target_is_an_overrides_file_from_the_top(tmp_path: Path) -> None:
    """Argo CD Image Updater's older form: any other write-back-target is the path (from the
    top of the repository) of the file written as .argocd-source-<app>.yaml would be."""
    files = {
        "apps/web/kustomization.yaml": KUSTOMIZATION,
        "overrides/web.yaml": SOURCE_FILE,
        "argocd/web.yaml": application(
            {"image-list": "ghcr.io/acme/web", "write-back-target": "overrides/web.yaml"}
        ),
    }
    assert only(tree(tmp_path, files)).location.file == "overrides/web.yaml"
    (tmp_path / "overrides" / "web.yaml").unlink()
    missing = scan_tree(tmp_path, only_automated=True, repository_urls=lambda: (OURS,))
    assert missing.targets == ()
    assert "no file overrides/web.yaml" in missing.problems[-1].message


def test_a_new_argocd_source_file_starts_from_the_kustomizations_tag(tmp_path: Path) -> None:
    """kustomize deploys the images entry's newTag, not the tag the Deployment writes."""
    files = {
        "apps/web/kustomization.yaml": KUSTOMIZATION.replace("newTag: 1.0.0", "newTag: 1.0.1"),
        "apps/web/deployment.yaml": DEPLOYMENT,
        "argocd/web.yaml": application(
            {"image-list": "ghcr.io/acme/web", "write-back-method": "git"}
        ),
    }
    scan = tree(tmp_path, files)
    assert scan.texts["apps/web/.argocd-source-web.yaml"].endswith("ghcr.io/acme/web:1.0.1\n")


@pytest.mark.parametrize(
    "annotations",
    [
        pytest.param({"write-back-target": "kustomization:../../../outside"}, id="kustomization"),
        pytest.param({"write-back-target": "helmvalues:/../outside/values.yaml"}, id="helmvalues"),
        pytest.param({"write-back-target": "../outside/.argocd-source-web.yaml"}, id="literal"),
        pytest.param({}, id="default-file"),
    ],
)
def test_no_write_back_leaves_the_tree(tmp_path: Path, annotations: dict[str, str]) -> None:
    """An Application's path or target pointing outside the repository reaches nothing there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kustomization.yaml").write_text(KUSTOMIZATION)
    (outside / "values.yaml").write_text(VALUES)
    (outside / ".argocd-source-web.yaml").write_text(SOURCE_FILE)
    files = {
        "repo/argocd/web.yaml": application(
            {"image-list": "web=ghcr.io/acme/web", **annotations}, path="../outside"
        )
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True)
        (tmp_path / name).write_text(text)
    scan = scan_tree(tmp_path / "repo", only_automated=True, repository_urls=lambda: (OURS,))
    assert scan.targets == ()
    assert all("outside" not in file for file in scan.texts if file != "argocd/web.yaml")


def test_a_scan_not_asked_to_follow_applications_leaves_them_unreported(tmp_path: Path) -> None:
    kustomize_app(tmp_path, {"image-list": "ghcr.io/acme/web"})
    scan = scan_tree(tmp_path)
    assert sorted(t.workload.kind for t in scan.targets) == ["Deployment", "Kustomization"]
    assert scan.problems == ()


def test_the_fixture_app_is_the_seed_deployment_but_for_its_automation() -> None:
    """fixtures/argocd's Deployment is the seed's byte for byte (trailing spaces kept), with
    the Flux v1 annotations making way for the Application's and the flask reference mended."""
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    seed = (fixtures / "seed-example" / "deployment.yaml").read_bytes()
    flux = (
        b"    flux.weave.works/tag.flask: glob:develop-v* \n"
        b"    flux.weave.works/automated: 'true' \n"
    )
    expected = seed.replace(flux, b"    app.kubernetes.io/managed-by: argocd \n").replace(
        b"docker.io//flaskapp", b"docker.io/demo/flaskapp"
    )
    assert expected != seed
    assert (fixtures / "argocd" / "apps" / "fluxdemo" / "deployment.yaml").read_bytes() == expected
