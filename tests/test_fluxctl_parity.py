"""Every fluxctl form in docs/flux-v1.md's command table, run in its imagebot form on the rig.

Bugs (issue 18): `automate`, `lock` and friends refused `-w` (they took only the argument);
`release --update-image` was "No such option", and there was no `--update-all-images`, no
`--exclude`, no `--all`; there was no `list-images` and no `list-workloads -n -c`; `policy` had
no `--automate/--deautomate/--lock/--unlock`. Each form below runs the real CLI as a child
process against a file:// Git remote and the rig registry (standing in for docker.io), and
checks what it committed or printed. The table in the docs and ``FORMS`` here must name the
same fluxctl forms: a row added to the docs without a test fails.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from tests.rig import ImagePusher, RegistryServer
from tests.rig.bare import git_env, run_git
from tests.run_support import T0, imagebot, mirror_config, push_seed_images
from tests.test_workflow_e2e import remote_file, remote_log, seed

DOC = Path(__file__).resolve().parent.parent / "docs" / "flux-v1.md"
W = "my-demo:deployment/fluxdemo"


def web(host: str, repo: str) -> bytes:
    """A second workload, not automated, whose annotations still write a tag policy."""
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\n"
        "  annotations:\n    imagebot.io/tag.app: semver:~1\n"
        "spec:\n  template:\n    spec:\n      containers:\n      - name: app\n"
        f"        image: {host}/{repo}:1.0.0  # keep\n"
    ).encode()


@dataclass
class GitOps:
    """The rig for one test: a remote holding the seed and ``web.yaml``, its URL, a settings
    file letting the rig registry stand in for docker.io, and the images pushed."""

    remote: Path
    url: str
    config: str
    flask_repo: str
    web_repo: str
    host: str
    tmp_path: Path

    def run(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        proc = imagebot(*args, tmp_path=self.tmp_path, check=False)
        assert proc.returncode == code, f"{args} -> {proc.returncode}\n{proc.stdout}{proc.stderr}"
        return proc

    def commit(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        """A workflow command on the remote, with the registry settings."""
        return self.run(*args, "--repo", self.url, "--config", self.config, code=code)

    def listing(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        """A listing command on a fresh clone of the remote (it reads a local directory)."""
        clone = self.tmp_path / f"clone-{len(list(self.tmp_path.glob('clone-*')))}"
        run_git("clone", "--quiet", self.url, str(clone), env=git_env())
        config = ("--config", self.config) if args[0] == "list-images" else ()
        return self.run(*args, "--repo", str(clone), *config, code=code)

    def file(self, path: str = "deployment.yaml") -> str:
        return remote_file(self.remote, path).decode()


@pytest.fixture
def gitops(
    registry: RegistryServer,
    pusher: ImagePusher,
    flask_repo: str,
    unique_repo: str,
    bare_remote: Callable[..., Path],
    tmp_path: Path,
) -> GitOps:
    push_seed_images(pusher, flask_repo)
    pusher.push_image(flask_repo, "develop-v1.9.0", created=T0 + timedelta(days=1))
    pusher.push_image(flask_repo, "other-3", created=T0 + timedelta(days=2))
    pusher.push_tags(
        unique_repo,
        {
            "1.0.0": T0,
            "1.1.0": T0 + timedelta(hours=1),
            "2.0.0": T0 + timedelta(hours=2),
        },
    )
    remote = bare_remote(
        {
            "deployment.yaml": seed(flask_repo),
            "web.yaml": web(registry.host, unique_repo),
        }
    )
    config = str(mirror_config(tmp_path, registry))
    return GitOps(remote, remote.as_uri(), config, flask_repo, unique_repo, registry.host, tmp_path)


# ---- the forms ----------------------------------------------------------------------------------


def list_workloads(g: GitOps) -> None:
    out = g.listing("list-workloads").stdout
    lines = out.splitlines()
    assert lines[0].split() == ["WORKLOAD", "CONTAINER", "IMAGE", "RELEASE", "POLICY"]
    assert lines[1].split()[:2] == ["Deployment/my-demo/fluxdemo", "nginx"]
    assert lines[1].split()[-2:] == ["-", "automated"]
    assert lines[2].split()[0] == "flask"
    assert lines[3].split()[:2] == ["Deployment/prod/web", "app"]


def list_workloads_filtered(g: GitOps) -> None:
    out = g.listing("list-workloads", "-n", "prod", "-c", "app", "--no-headers").stdout
    assert [line.split()[0] for line in out.splitlines()] == ["Deployment/prod/web"]
    g.listing("list-workloads", "-n", "my-demo", "-c", "app", code=5)


def list_workloads_json(g: GitOps) -> None:
    answer = json.loads(g.listing("list-workloads", "--output", "json").stdout)
    assert answer["schemaVersion"] == 1
    by_name = {w["workload"]: w for w in answer["workloads"]}
    demo = by_name["Deployment/my-demo/fluxdemo"]
    assert (demo["automated"], demo["policy"]) == (True, "automated")
    assert [c["container"] for c in demo["containers"]] == ["nginx", "flask"]
    assert by_name["Deployment/prod/web"]["containers"][0]["policy"] == "semver:~1"


def list_images(g: GitOps) -> None:
    out = g.listing("list-images", "-w", W).stdout
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["WORKLOAD", "CONTAINER", "IMAGE", "CREATED"]
    flask = next(i for i, row in enumerate(rows) if row[0] == "flask")
    assert rows[flask + 1][:2] == ["|", "other-3"]
    assert rows[flask + 2][:2] == ["|", "develop-v1.9.0"]
    assert rows[flask + 3][:2] == ["'->", "develop-v1.8.0"]
    assert rows[flask + 3][2] == "2024-05-01T00:00:00Z"
    assert "Deployment/prod/web" not in out


def list_images_limit(g: GitOps) -> None:
    out = g.listing("list-images", "-n", "my-demo", "--limit", "1").stdout
    assert "Deployment/prod/web" not in out
    rows = [line.split() for line in out.splitlines()]
    flask = next(i for i, row in enumerate(rows) if row[0] == "flask")
    lines = rows[flask + 1 : flask + 4]
    # the newest, then how many were left out, then the running one past the limit
    assert lines[0][:2] == ["|", "other-3"]
    assert lines[1][:2] == [":", "(1"]
    assert lines[2][:2] == ["'->", "develop-v1.8.0"]


def list_images_json(g: GitOps) -> None:
    answer = json.loads(g.listing("list-images", "--output", "json", "--limit", "0").stdout)
    assert answer["schemaVersion"] == 1
    web_ = next(w for w in answer["workloads"] if w["workload"] == "Deployment/prod/web")
    app = web_["containers"][0]
    assert [t["tag"] for t in app["tags"]] == ["2.0.0", "1.1.0", "1.0.0"]
    assert [t["current"] for t in app["tags"]] == [False, False, True]
    assert (app["policy"], app["chosen"], app["tagCount"]) == ("semver:~1", "1.1.0", 3)
    assert answer["requests"]["list"] >= 2


def automate(g: GitOps) -> None:
    g.commit("deautomate", "-w", W)
    g.commit("automate", "-w", W)
    subjects = remote_log(g.remote)[:2]
    assert subjects == ["Automate deployment/fluxdemo", "Deautomate deployment/fluxdemo"]
    assert 'flux.weave.works/automated: "true"' in g.file()


def deautomate(g: GitOps) -> None:
    g.commit("deautomate", "-w", W)
    assert remote_log(g.remote)[0] == "Deautomate deployment/fluxdemo"
    assert "automated" not in g.file()


def lock(g: GitOps) -> None:
    g.commit("lock", "-w", W, "-m", "incident 42", "--user", "ann")
    assert remote_log(g.remote)[0] == "Lock deployment/fluxdemo: incident 42"
    assert "flux.weave.works/locked_user: ann" in g.file()


def unlock(g: GitOps) -> None:
    g.commit("lock", "-w", W)
    g.commit("unlock", "-w", W)
    assert remote_log(g.remote)[0] == "Unlock deployment/fluxdemo"
    assert "locked" not in g.file()


def policy_tag(g: GitOps) -> None:
    g.commit("policy", "-w", W, "--tag", "flask=glob:other-*")
    assert "flux.weave.works/tag.flask: glob:other-* \n" in g.file()


def policy_tag_all(g: GitOps) -> None:
    g.commit("policy", "-w", W, "--tag-all", "semver:~1.9")
    text = g.file()
    assert "tag.flask: semver:~1.9" in text and "tag.nginx: semver:~1.9" in text


def policy_automate(g: GitOps) -> None:
    g.commit("policy", "-w", "prod:deployment/web", "--automate")
    assert remote_log(g.remote)[0] == "Automate deployment/web"
    assert 'imagebot.io/automated: "true"' in g.file("web.yaml")


def policy_deautomate(g: GitOps) -> None:
    g.commit("policy", "-w", W, "--deautomate", "--tag", "flask=glob:*")
    assert remote_log(g.remote)[0] == "Update policies of deployment/fluxdemo"
    text = g.file()
    assert "automated" not in text and "tag.flask: glob:* \n" in text


def policy_lock(g: GitOps) -> None:
    g.commit("policy", "-w", W, "--lock", "-m", "hold", "--user", "ann")
    assert remote_log(g.remote)[0] == "Lock deployment/fluxdemo: hold"
    text = g.file()
    assert "flux.weave.works/locked_msg: hold" in text and "locked_user: ann" in text


def policy_unlock(g: GitOps) -> None:
    g.commit("policy", "-w", W, "--lock")
    g.commit("policy", "-w", W, "--unlock")
    assert remote_log(g.remote)[0] == "Unlock deployment/fluxdemo"
    assert "locked" not in g.file()


def release_one(g: GitOps) -> None:
    g.commit("release", "--workload", W, "--update-image", f"{g.flask_repo}:develop-v2")
    assert ":develop-v2 \n" in g.file()


def release_all_workloads(g: GitOps) -> None:
    image = f"{g.host}/{g.web_repo}:1.1.0"
    g.commit("release", "--all", "--update-image", image)
    assert f"{g.web_repo}:1.1.0  # keep" in g.file("web.yaml")


def release_latest(g: GitOps) -> None:
    g.commit("release", "--workload", "prod:deployment/web", "--update-all-images")
    # not automated, yet its written policy counts: the newest 1.x, not 2.0.0
    assert f"{g.web_repo}:1.1.0  # keep" in g.file("web.yaml")
    assert remote_log(g.remote)[0] == "Update app to 1.1.0"


def release_latest_excluding(g: GitOps) -> None:
    g.commit("release", "--all", "--update-all-images", "--exclude", "deploy/nope", code=2)
    g.commit("release", "--all", "--update-all-images", "--exclude", "prod:deployment/web")
    text = g.file()
    # glob:develop-v* for flask; nginx has no policy: the newest of its one tag
    assert ":develop-v1.9.0 \n" in text and "nginx:1.16-perl" in text
    assert f"{g.web_repo}:1.0.0" in g.file("web.yaml")


def release_force(g: GitOps) -> None:
    g.commit("lock", "-w", W)
    g.commit("release", "-w", W, "--update-all-images", code=5)
    g.commit("release", "-w", W, "--update-all-images", "--force")
    assert ":develop-v1.9.0 \n" in g.file()


def release_dry_run(g: GitOps) -> None:
    before = remote_log(g.remote)
    out = g.commit("release", "--all", "--update-all-images", "--dry-run").stdout
    assert "+        image: docker.io/" in out and "develop-v1.9.0" in out
    assert remote_log(g.remote) == before


FORMS: dict[str, Callable[[GitOps], None]] = {
    "fluxctl list-workloads": list_workloads,
    "fluxctl list-workloads -n NS -c CONTAINER": list_workloads_filtered,
    "fluxctl list-workloads -o json": list_workloads_json,
    "fluxctl list-images -w W": list_images,
    "fluxctl list-images -n NS --limit N": list_images_limit,
    "fluxctl list-images -o json": list_images_json,
    "fluxctl automate -w W": automate,
    "fluxctl deautomate -w W": deautomate,
    'fluxctl lock -w W -m "why" --user ann': lock,
    "fluxctl unlock -w W": unlock,
    "fluxctl policy -w W --tag='flask=glob:develop-v*'": policy_tag,
    "fluxctl policy -w W --tag-all='semver:~1.9'": policy_tag_all,
    "fluxctl policy -w W --automate": policy_automate,
    "fluxctl policy -w W --deautomate": policy_deautomate,
    "fluxctl policy -w W --lock -m why --user ann": policy_lock,
    "fluxctl policy -w W --unlock": policy_unlock,
    "fluxctl release --workload W --update-image IMG:TAG": release_one,
    "fluxctl release --all --update-image IMG:TAG": release_all_workloads,
    "fluxctl release --workload W --update-all-images": release_latest,
    "fluxctl release --all --update-all-images --exclude W": release_latest_excluding,
    "fluxctl release ... --force": release_force,
    "fluxctl release ... --dry-run": release_dry_run,
}


def documented_forms() -> list[str]:
    """The fluxctl forms of the command table whose imagebot column is a command."""
    forms = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[1].startswith("`imagebot "):
            continue
        spans = re.findall(r"`(fluxctl [^`]+)`", cells[0])
        forms += spans
    return forms


# Forms whose imagebot command needs the operator or a cluster's objects: each has a module of
# its own on the rig, which must exist and run that command.
ELSEWHERE = {
    "fluxctl install": ("test_install_cmd.py", '"install"'),
    "fluxctl identity": ("test_identity_cmd.py", '"identity"'),
}


def test_the_docs_table_and_these_tests_name_the_same_fluxctl_forms() -> None:
    assert sorted(set(documented_forms())) == sorted([*FORMS, *ELSEWHERE])
    for module, command in ELSEWHERE.values():
        assert command in (Path(__file__).parent / module).read_text(encoding="utf-8"), module


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_imagebot_form_of_each_fluxctl_command_works(form: str, gitops: GitOps) -> None:
    FORMS[form](gitops)


def test_an_unreachable_registry_is_a_transient_failure_of_both_new_commands(
    bare_remote: Callable[..., Path], tmp_path: Path
) -> None:
    """Nothing listens on the port: list-images shows why in the row and exits 1, and
    release --update-all-images commits nothing and exits 1 (run again later), not 0."""
    from tests.rig.procs import free_port

    image = f"127.0.0.1:{free_port()}/gone/app:1.0.0"
    remote = bare_remote({"web.yaml": web_with(image)})
    g = GitOps(remote, remote.as_uri(), str(tmp_path / "none.yaml"), "", "", "", tmp_path)
    (tmp_path / "none.yaml").write_text("registries:\n  timeoutSeconds: 5\n")

    out = g.listing("list-images", code=1).stdout
    assert "Deployment/prod/web" in out and "gone/app" in out
    g.commit("release", "--all", "--update-all-images", code=1)
    assert remote_log(remote) == ["Seed the test remote"]


def web_with(image: str) -> bytes:
    return (
        "kind: Deployment\nmetadata: {name: web, namespace: prod}\n"
        f"spec: {{template: {{spec: {{containers: [{{name: app, image: '{image}'}}]}}}}}}\n"
    ).encode()
