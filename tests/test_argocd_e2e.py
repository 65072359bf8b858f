"""Argo CD Image Updater's annotations taken through to a pushed commit: real registry, real Git.

The seed's workload as an Argo CD Kustomize app and as a Helm chart (fixtures/argocd), with an
Application per write-back: the kustomization's images entry, the default
``.argocd-source-<app>.yaml`` (created by the first update), and the chart's values file. Each
run changes exactly one value; a second run changes nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from imagebot.reconcile.lint import lint_tree
from tests.rig import ImagePusher, RegistryServer
from tests.rig.git import run_git
from tests.rig.githttp import GitHttpServer
from tests.run_support import T0, imagebot, mirror_config, push_seed_images

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "argocd"
pytestmark = pytest.mark.rig


def tree_files(application: str, flask_repo: str, url: str) -> dict[str, bytes]:
    """The fixture tree with one Application; its repoURL is the remote's, spelt differently
    (no ``.git``, a trailing slash), and the flask image is this test's repository."""
    files = {
        path.relative_to(FIXTURES).as_posix(): path.read_bytes()
        for path in sorted(FIXTURES.rglob("*"))
        if path.is_file() and "applications" not in path.parts
    }
    app = (FIXTURES / "applications" / f"{application}.yaml").read_bytes()
    files["argocd/fluxdemo.yaml"] = app.replace(
        b"REPO_URL", url.removesuffix(".git").encode() + b"/"
    )
    # nginx moves beside this test's flask: the session's registry is shared, and the seed's
    # library/nginx must keep only the tags the other tests push there.
    nginx = f"image: docker.io/{flask_repo.rsplit('/', 1)[0]}/nginx:".encode()
    return {
        name: data.replace(b"docker.io/demo/flaskapp", f"docker.io/{flask_repo}".encode()).replace(
            b"image: nginx:", nginx
        )
        for name, data in files.items()
    }


def run(url: str, tmp_path: Path, registry: RegistryServer) -> dict[str, object]:
    config = mirror_config(tmp_path, registry)
    args = ("run", "--repo", url, "--config", str(config), "--output", "json")
    result: dict[str, object] = json.loads(imagebot(*args, tmp_path=tmp_path).stdout)
    return result


def changed_lines(clone: Path) -> list[str]:
    diff = run_git("-C", str(clone), "show", "--format=", "--unified=0", "HEAD")
    return [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]


def test_kustomization_write_back_commits_the_new_tag(
    registry: RegistryServer,
    pusher: ImagePusher,
    flask_repo: str,
    http_git_server: GitHttpServer,
    tmp_path: Path,
) -> None:
    push_seed_images(pusher, flask_repo)
    pusher.push_image(flask_repo, "develop-v1.9.0", created=T0 + timedelta(days=1))
    # Newer, but ignore-tags drops release candidates; allow-tags drops main-*.
    pusher.push_image(flask_repo, "develop-v1.9.1-rc1", created=T0 + timedelta(days=2))
    pusher.push_image(flask_repo, "main-7", created=T0 + timedelta(days=3))
    name = f"{flask_repo.replace('/', '-')}.git"
    url = http_git_server.repo_url(name)
    http_git_server.make_repo(name, tree_files("kustomization", flask_repo, url))

    result = run(url, tmp_path, registry)
    assert result["pushed"] is True, result
    changes = result["changes"]
    assert isinstance(changes, list)
    assert [(c["workload"], c["container"], c["tag"]) for c in changes] == [
        ("Application/argocd/fluxdemo", "flask", "develop-v1.9.0")
    ]
    clone = tmp_path / "check"
    run_git("clone", "--quiet", url, str(clone))
    assert changed_lines(clone) == ["-  newTag: develop-v1.8.0", "+  newTag: develop-v1.9.0"]
    assert run_git("-C", str(clone), "show", "--name-only", "--format=", "HEAD").split() == [
        "apps/fluxdemo/kustomization.yaml"
    ]
    again = run(url, tmp_path, registry)
    assert again["changes"] == [] and again["commit"] is None


def test_default_write_back_creates_the_argocd_source_file(
    registry: RegistryServer,
    pusher: ImagePusher,
    flask_repo: str,
    http_git_server: GitHttpServer,
    tmp_path: Path,
) -> None:
    push_seed_images(pusher, flask_repo)
    pusher.push_image(flask_repo, "develop-v1.9.0", created=T0 + timedelta(days=1))
    pusher.push_image(flask_repo, "develop-v2.0.0", created=T0 + timedelta(days=2))  # not v1.*
    name = f"{flask_repo.replace('/', '-')}.git"
    url = http_git_server.repo_url(name)
    http_git_server.make_repo(name, tree_files("source-file", flask_repo, url))

    result = run(url, tmp_path, registry)
    assert result["pushed"] is True, result
    clone = tmp_path / "check"
    run_git("clone", "--quiet", url, str(clone))
    created = clone / "apps" / "fluxdemo" / ".argocd-source-fluxdemo.yaml"
    image = f"docker.io/{flask_repo}"
    # Argo CD Image Updater's layout: kustomize.images, `name=image:tag` with kustomize.image-name.
    assert created.read_text() == (f"kustomize:\n  images:\n  - {image}={image}:develop-v1.9.0\n")
    assert run_git("-C", str(clone), "show", "--name-only", "--format=", "HEAD").split() == [
        "apps/fluxdemo/.argocd-source-fluxdemo.yaml"
    ]

    # Now the file exists: nothing to do, and the next tag rewrites its one value in place.
    again = run(url, tmp_path, registry)
    assert again["changes"] == [] and again["commit"] is None
    pusher.push_image(flask_repo, "develop-v1.10.0", created=T0 + timedelta(days=3))
    later = run(url, tmp_path, registry)  # by name, develop-v1.9.0 stays above develop-v1.10.0
    assert later["changes"] == []
    pusher.push_image(flask_repo, "develop-v1.9.9", created=T0 + timedelta(days=4))
    last = run(url, tmp_path, registry)
    assert last["pushed"] is True, last
    run_git("-C", str(clone), "pull", "--quiet")
    assert changed_lines(clone) == [
        f"-  - {image}={image}:develop-v1.9.0",
        f"+  - {image}={image}:develop-v1.9.9",
    ]

    # The credentials the Application names are never read, and lint says so.
    warnings = [p.message for p in lint_tree(clone) if p.file == "argocd/fluxdemo.yaml"]
    assert any("names a Secret for the registry" in m for m in warnings), warnings
    assert any("names a Secret for Git" in m for m in warnings), warnings


def test_digest_strategy_pins_the_tags_newest_digest(
    registry: RegistryServer,
    pusher: ImagePusher,
    flask_repo: str,
    http_git_server: GitHttpServer,
    tmp_path: Path,
) -> None:
    first = pusher.push_image(flask_repo, "latest", created=T0)
    name = f"{flask_repo.replace('/', '-')}.git"
    url = http_git_server.repo_url(name)
    files = tree_files("digest", flask_repo, url)
    kustomization = "apps/fluxdemo/kustomization.yaml"
    files[kustomization] = files[kustomization].replace(b"develop-v1.8.0", b"latest")
    http_git_server.make_repo(name, files)

    result = run(url, tmp_path, registry)
    assert result["pushed"] is True, result
    clone = tmp_path / "check"
    run_git("clone", "--quiet", url, str(clone))
    created = clone / "apps" / "fluxdemo" / ".argocd-source-fluxdemo.yaml"
    image = f"docker.io/{flask_repo}"
    assert created.read_text() == f"kustomize:\n  images:\n  - {image}:latest@{first}\n"

    assert run(url, tmp_path, registry)["changes"] == []
    second = pusher.push_image(flask_repo, "latest", created=T0 + timedelta(days=1))
    assert second != first
    again = run(url, tmp_path, registry)
    assert again["pushed"] is True, again
    run_git("-C", str(clone), "pull", "--quiet")
    assert changed_lines(clone) == [f"-  - {image}:latest@{first}", f"+  - {image}:latest@{second}"]


def test_helm_values_write_back_commits_the_tag_key(
    registry: RegistryServer,
    pusher: ImagePusher,
    flask_repo: str,
    http_git_server: GitHttpServer,
    tmp_path: Path,
) -> None:
    nginx = f"{flask_repo.rsplit('/', 1)[0]}/nginx"
    pusher.push_tags(nginx, {"1.16-perl": T0, "1.17": T0 + timedelta(hours=3)})  # left alone:
    # not in the Application's image-list
    pusher.push_tags(
        flask_repo,
        {"1.8.0": T0, "1.9.0": T0 + timedelta(hours=1), "2.0.0": T0 + timedelta(hours=2)},
    )
    name = f"{flask_repo.replace('/', '-')}.git"
    url = http_git_server.repo_url(name)
    http_git_server.make_repo(name, tree_files("helm-values", flask_repo, url))

    result = run(url, tmp_path, registry)
    assert result["pushed"] is True, result
    clone = tmp_path / "check"
    run_git("clone", "--quiet", url, str(clone))
    assert changed_lines(clone) == ['-    tag: "1.8.0"', '+    tag: "1.9.0"']
    values = (clone / "charts" / "fluxdemo" / "values.yaml").read_bytes()
    original = tree_files("helm-values", flask_repo, url)["charts/fluxdemo/values.yaml"]
    assert values == original.replace(b'"1.8.0"', b'"1.9.0"')


def checkout(tmp_path: Path, application: str, origin: str, **replace: str) -> Path:
    """A local checkout of the fixture tree whose ``origin`` is ``origin`` (never contacted:
    only its URL says which Applications are this repository's)."""
    root = tmp_path / "checkout"
    for name, data in tree_files(application, "demo/flaskapp", origin).items():
        text = data.decode()
        for old, new in replace.items():
            text = text.replace(old, new)
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    run_git("init", "--quiet", "-b", "main", str(root))
    run_git("-C", str(root), "remote", "add", "origin", origin)
    return root


def test_list_names_the_application_and_where_its_value_lives(tmp_path: Path) -> None:
    # The Application writes https://host/org/repo/; the checkout's origin is the scp spelling.
    root = checkout(tmp_path, "kustomization", "https://git.example.com/acme/deploy.git")
    run_git("-C", str(root), "remote", "set-url", "origin", "git@git.example.com:acme/deploy")
    listed = json.loads(
        imagebot("list", "--repo", str(root), "--output", "json", tmp_path=tmp_path).stdout
    )
    automated = [t for t in listed["targets"] if t["workload"].startswith("Application/")]
    assert [
        (t["file"], t["workload"], t["container"], t["kind"], t["policy"]) for t in automated
    ] == [
        (
            "apps/fluxdemo/kustomization.yaml",
            "Application/argocd/fluxdemo",
            "flask",
            "kustomize",
            "glob:*",
        )
    ]


def test_lint_reports_an_invalid_allow_tags_regexp_and_named_credentials(tmp_path: Path) -> None:
    root = checkout(
        tmp_path,
        "source-file",
        "https://git.example.com/acme/deploy.git",
        **{"regexp:^develop-v1\\.": "regexp:^develop-v1\\.("},
    )
    proc = imagebot("lint", "--repo", str(root), "--output", "json", tmp_path=tmp_path, check=False)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    # Reported where the policy governs a value: the .argocd-source file it would write.
    invalid = [f for f in findings if f["code"] == "invalid-policy"]
    assert [f["file"] for f in invalid] == ["apps/fluxdemo/.argocd-source-fluxdemo.yaml"]
    assert "image-list of Application/argocd/fluxdemo (flask" in invalid[0]["message"]
    assert sum(f["code"] == "manifest-warning" for f in findings) == 2, findings


@pytest.mark.parametrize(
    ("remotes", "tracking", "expected"),
    [
        pytest.param(
            {"origin": "https://a.example/o.git"}, None, ("https://a.example/o.git",), id="origin"
        ),
        pytest.param(
            {"origin": "https://a.example/fork.git", "upstream": "https://a.example/o.git"},
            "upstream",
            ("https://a.example/o.git",),
            id="the-tracked-remote-wins",
        ),
        pytest.param({"mirror": "https://a.example/o.git"}, None, (), id="no-origin-no-tracking"),
        pytest.param({}, None, (), id="no-remote"),
    ],
)
def test_the_repositorys_own_url_is_the_remote_it_pushes_to(
    tmp_path: Path, remotes: dict[str, str], tracking: str | None, expected: tuple[str, ...]
) -> None:
    from imagebot.gitrepo.remotes import remote_urls

    root = tmp_path / "repo"
    run_git("init", "--quiet", "-b", "main", str(root))
    for name, url in remotes.items():
        run_git("-C", str(root), "remote", "add", name, url)
    if tracking:
        run_git("-C", str(root), "config", "branch.main.remote", tracking)
        run_git("-C", str(root), "config", "branch.main.merge", "refs/heads/main")
    assert remote_urls(root) == expected
    assert remote_urls(tmp_path / "not-a-repository") == ()
