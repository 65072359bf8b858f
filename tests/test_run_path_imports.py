"""What a cycle loads: the run path holds only the modules its repository and policies use.

A semver cycle against a plain registry reads tag lists alone. The manifest reader (creation
times, digests), the registries' push-time APIs, the operator's shared answers, Argo CD's
Applications, Keel's policies, the workload descriptions of lint, the other policy kinds, tag
filters, the settings grammar, commit message templates and the rewriting itself (which a
forked child does, as a rule) load when something asks for them; until then the process need
not hold them (RSS is most of what the run path costs past its time). Each probe runs in a fresh
interpreter, so what it prints is what its own steps loaded.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.run_support import fresh_python

LAZY = (
    "imagebot.gitrepo.template",
    "imagebot.manifest.argocd",
    "imagebot.manifest.keel",
    "imagebot.manifest.release",
    "imagebot.manifest.rewrite",
    "imagebot.manifest.splice",
    "imagebot.manifest.verify",
    "imagebot.manifest.workload_index",
    "imagebot.policy.alphabetical",
    "imagebot.policy.bumps",
    "imagebot.policy.filters",
    "imagebot.policy.glob",
    "imagebot.policy.numerical",
    "imagebot.policy.regex",
    "imagebot.registry.fleet",
    "imagebot.registry.manifests",
    "imagebot.registry.metadata",
    "imagebot.registry.pushpages",
    "imagebot.registry.pushtimes",
    "imagebot.settings.grammar",
)
# Not loaded by a run at all: the forked scan sends its results with pickle's C half alone.
NEVER = ("pickle",)

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    imagebot.io/automated: "true"
    imagebot.io/tag.web: semver:^1
spec:
  template:
    spec:
      containers:
      - name: web
        image: registry.example/team/web:1.0.0
"""

KEEL = DEPLOYMENT.replace("imagebot.io/automated", "keel.sh/policy: minor\n    x")

APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=registry.example/team/web
    argocd-image-updater.argoproj.io/write-back-method: git
spec:
  source:
    repoURL: https://git.example/team/deploy.git
"""


def loaded_after(
    steps: str, manifest: str, policies: tuple[str, ...], watched: tuple[str, ...] = LAZY
) -> list[str]:
    """The modules of ``watched`` loaded once ``steps`` ran after the run path's imports."""
    probe = textwrap.dedent(
        f"""
        import sys
        import imagebot.cli.run_cmd, imagebot.reconcile.run
        from imagebot.config import RegistrySettings
        from imagebot.manifest.scan import scan_file
        from imagebot.policy import parse_policy
        from imagebot.reconcile.forked import forked_map
        from imagebot.registry.client import RegistryClient

        client = RegistryClient(RegistrySettings())
        found = scan_file({manifest!r}, "apps/web.yaml")
        assert not found.problems and (found.targets or found.applications), found
        for text in {policies!r}:
            parse_policy(text)
        assert forked_map(str, range(100)) == [str(n) for n in range(100)]
        {steps}
        print(" ".join(sorted(m for m in {watched!r} if m in sys.modules)))
        """
    )
    return fresh_python(probe).split()


@pytest.mark.rig
def test_a_semver_cycle_on_a_plain_registry_loads_none_of_the_optional_modules() -> None:
    assert loaded_after("pass", DEPLOYMENT, ("semver:^1",), LAZY + NEVER) == []


@pytest.mark.rig
def test_each_optional_module_loads_when_something_asks_for_it() -> None:
    steps = textwrap.dedent(
        f"""
        from imagebot import manifest
        from imagebot.gitrepo.message import check_template
        from imagebot.model import PolicySpec
        from imagebot.settings import Source, parse_settings

        client._resolver, client._pushed, client.lists._fresh()
        assert scan_file({KEEL!r}, "apps/keel.yaml").targets
        assert scan_file({DEPLOYMENT!r}, "apps/web.yaml", with_workloads=True).workloads
        targets, _ = manifest.scan_text({DEPLOYMENT!r}, "apps/web.yaml")
        update = manifest.Update(targets[0], "1.1.0")
        assert "web:1.1.0" in manifest.rewrite_text({DEPLOYMENT!r}, "apps/web.yaml", [update])
        manifest.plan_set_image
        parse_policy(PolicySpec("semver:^1", "a test", filter_pattern="^v(?P<v>.*)", extract="$v"))
        parse_settings("git:\\n  branch: main\\n", "imagebot.yaml", source=Source.CONFIG)
        check_template("{{subject}} ({{count}})")
        """
    ).replace("\n", "\n        ")
    policies = ("numerical:asc", "alphabetical:desc", "major", "glob:1.*", "regex:^1")

    assert loaded_after(steps, APPLICATION, policies) == sorted(LAZY)
