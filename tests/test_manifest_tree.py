"""Walking a tree for manifests and writing rewritten files back, on a real file system."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from imagebot.errors import ManifestError
from imagebot.manifest import scan_tree, write_files

POD = "kind: Pod\nmetadata: {name: %s}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.0\n"
AUTOMATED = POD.replace("{name: %s}", "{name: %s, annotations: {fluxcd.io/automated: 'true'}}")


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


def test_the_walk_reads_manifests_only_and_never_enters_git(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "apps/a.yaml": POD % "a",
            "apps/b.yml": POD % "b",
            "apps/c.json": '{"kind": "Pod", "metadata": {"name": "c"}, '
            '"spec": {"containers": [{"name": "a", "image": "nginx:1.0"}]}}',
            "apps/notes.md": POD % "md",
            ".git/config.yaml": POD % "git",
        },
    )
    scan = scan_tree(tmp_path)
    assert [t.location.file for t in scan.targets] == ["apps/a.yaml", "apps/b.yml", "apps/c.json"]
    assert set(scan.texts) == {"apps/a.yaml", "apps/b.yml", "apps/c.json"}
    assert not scan.problems and not scan.skipped


@pytest.mark.parametrize(
    ("name", "read"),
    [
        pytest.param("APP.YAML", True, id="upper-case-yaml"),
        pytest.param("App.Yml", True, id="mixed-case-yml"),
        pytest.param("APP.JSON", True, id="upper-case-json"),
        pytest.param("app.yaml.bak", False, id="backup-is-not-a-manifest"),
        pytest.param("app.yamlx", False, id="look-alike-suffix"),
    ],
)
def test_manifest_suffixes_are_matched_in_any_case(tmp_path: Path, name: str, read: bool) -> None:
    # kubectl -f FILE and a Kustomization's `resources:` apply APP.YAML; skipping it would leave
    # a deployed image silently unmanaged.
    write(tmp_path, {f"apps/{name}": POD % "a"})
    assert [t.location.file for t in scan_tree(tmp_path).targets] == ([f"apps/{name}"] * read)


def test_workloads_come_from_the_same_pass_as_the_targets(tmp_path: Path) -> None:
    broken = POD.replace("nginx:1.0", "docker.io//broken:1")
    write(tmp_path, {"a.yaml": AUTOMATED % "a", "b.yaml": broken % "b", "c.yaml": POD % "c"})
    scan = scan_tree(tmp_path, with_workloads=True)
    found = [(str(w.id), w.where, w.automated) for w in scan.workloads]
    assert found == [
        ("Pod/default/a", "a.yaml:1", True),
        ("Pod/default/b", "b.yaml:1", False),
        ("Pod/default/c", "c.yaml:1", False),
    ]
    assert scan.files_composed == 3  # each file composed once
    # b.yaml holds no target (its reference is broken) but a workload: its text is kept to edit.
    assert set(scan.texts) == {"a.yaml", "b.yaml", "c.yaml"}
    assert scan_tree(tmp_path).workloads == ()  # a reconcile keeps no workloads


def test_paths_limit_the_walk_and_may_not_leave_the_tree(tmp_path: Path) -> None:
    write(tmp_path, {"a/x.yaml": POD % "a", "b/y.yaml": POD % "b"})
    scan = scan_tree(tmp_path, ["b", "../elsewhere"])
    assert [t.location.file for t in scan.targets] == ["b/y.yaml"]
    assert [p.message for p in scan.skipped] == ["skipped: the path leads outside the tree"]


def test_symlinks_are_followed_only_inside_the_tree_and_read_once(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    write(root, {"base/pod.yaml": POD % "a"})
    write(outside, {"secret.yaml": POD % "s"})
    (root / "prod").mkdir()
    (root / "prod/pod.yaml").symlink_to(root / "base/pod.yaml")
    (root / "leak.yaml").symlink_to(outside / "secret.yaml")
    (root / "linked-dir").symlink_to(outside, target_is_directory=True)
    scan = scan_tree(root)
    assert [t.location.file for t in scan.targets] == ["base/pod.yaml"]
    assert [(p.file, p.message) for p in scan.skipped] == [
        ("leak.yaml", "skipped: a symlink that leads outside the tree")
    ]


def test_broken_looping_and_special_links_are_skipped_with_a_reason(tmp_path: Path) -> None:
    write(tmp_path, {"pod.yaml": POD % "a"})
    (tmp_path / "broken.yaml").symlink_to(tmp_path / "gone.yaml")
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    (tmp_path / "dir.yaml").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(tmp_path / "fifo.yaml")  # would block a reader forever
    scan = scan_tree(tmp_path)
    assert [t.location.file for t in scan.targets] == ["pod.yaml"]
    assert [(p.file, p.message) for p in scan.skipped] == [
        ("broken.yaml", "skipped: a symlink that leads nowhere (broken or a loop)"),
        ("dir.yaml", "skipped: a symlink to something that is not a file"),
        ("loop.yaml", "skipped: a symlink that leads nowhere (broken or a loop)"),
    ]


def test_oversized_and_non_utf8_files_are_reported_not_read(tmp_path: Path) -> None:
    write(tmp_path, {"big.yaml": POD % "big" + "#" * 200, "latin.yaml": b"image: caf\xe9\n"})
    scan = scan_tree(tmp_path, max_bytes=150)
    assert [(p.file, p.message) for p in scan.problems] == [
        ("big.yaml", "skipped: larger than 150 bytes")
    ]
    assert [p.file for p in scan.skipped] == ["latin.yaml"]
    assert "not UTF-8" in scan.skipped[0].message


def test_only_automated_screens_files_and_returns_automated_targets(tmp_path: Path) -> None:
    write(tmp_path, {"a.yaml": AUTOMATED % "a", "b.yaml": POD % "b"})
    full, automated = scan_tree(tmp_path), scan_tree(tmp_path, only_automated=True)
    assert (full.files_composed, automated.files_composed) == (2, 1)
    assert [str(t.workload) for t in automated.targets] == ["Pod/default/a"]
    assert list(automated.texts) == ["a.yaml"]


def test_a_setter_resolves_through_a_policy_in_another_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app.yaml": 'image: x # {"$imagepolicy": "flux:p"}\n'
            "kind: Pod\nspec: {containers: [{name: a, image: nginx:1.0}]}\n",
            "flux/policy.yaml": "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\n"
            "metadata: {name: p, namespace: flux}\n"
            "spec: {imageRepositoryRef: {name: r}, policy: {numerical: {order: desc}}}\n"
            "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n"
            "metadata: {name: r, namespace: flux}\nspec: {image: ghcr.io/a/x}\n",
        },
    )
    scan = scan_tree(tmp_path)
    setter = [t for t in scan.targets if t.policy and t.policy.source]
    assert [(t.image.name, t.policy and t.policy.text) for t in setter] == [
        ("ghcr.io/a/x", "numerical:desc")
    ]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("\ufeffa: 1\r\nb: 2\r\n", id="bom-and-crlf"),
        pytest.param("a: 1\nb: 2", id="no-final-newline"),
        pytest.param("a: h\u00e9llo \t\n", id="non-ascii-and-trailing-blanks"),
    ],
)
def test_write_files_writes_exactly_the_text_given(tmp_path: Path, text: str) -> None:
    write(tmp_path, {"f.yaml": "old\n"})
    (tmp_path / "f.yaml").chmod(0o640)
    write_files(tmp_path, {"f.yaml": text})
    assert (tmp_path / "f.yaml").read_bytes() == text.encode("utf-8")
    assert (tmp_path / "f.yaml").stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.yaml"]  # no temp file left behind


def test_write_files_refuses_a_symlink_that_leaves_the_tree(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    write(root, {"inside.yaml": "a: 1\n"})
    write(outside, {"target.yaml": "a: 1\n"})
    (root / "link.yaml").symlink_to(outside / "target.yaml")
    with pytest.raises(ManifestError, match=r"link\.yaml: leads outside the tree"):
        write_files(root, {"inside.yaml": "a: 2\n", "link.yaml": "a: 2\n"})
    assert (outside / "target.yaml").read_text() == "a: 1\n"
    assert (root / "inside.yaml").read_text() == "a: 1\n"  # all or nothing: staged, not renamed
    assert sorted(p.name for p in root.iterdir()) == ["inside.yaml", "link.yaml"]


def test_write_files_through_a_symlink_inside_the_tree_updates_its_target(
    tmp_path: Path,
) -> None:
    write(tmp_path, {"base.yaml": "a: 1\n"})
    (tmp_path / "link.yaml").symlink_to(tmp_path / "base.yaml")
    write_files(tmp_path, {"link.yaml": "a: 2\n"})
    assert (tmp_path / "link.yaml").is_symlink()
    assert (tmp_path / "base.yaml").read_text() == "a: 2\n"
