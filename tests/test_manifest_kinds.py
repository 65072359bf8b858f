"""Containers in any kind (issue 16): the tested kinds, names for annotations, bounds, goldens.

Issue 16 found 137 file/image pairs that ``set-image`` left alone with only "no image of X"
because their containers were in kinds imagebot did not read, and two Rollout files edited
halfway. Every test here failed before containers were found by their shape.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from imagebot.cli import cli
from imagebot.manifest.scan import scan_file, scan_text
from imagebot.manifest.slots import MAX_DEPTH, MAX_NODES
from imagebot.model import Target, WorkloadId
from imagebot.refs import parse_reference
from tests import support
from tests.workflow_cases import init_repo

DOCS = support.ROOT / "docs" / "manifests.md"
GOLDENS = support.FIXTURES / "manifests"


def _meta(api: str, kind: str, extra: str = "") -> str:
    return f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: x\n  namespace: ns\n{extra}"


# Each tested kind, in the smallest shape its API documents, and the containers found in it.
KINDS = [
    pytest.param(
        _meta("argoproj.io/v1alpha1", "AnalysisTemplate")
        + "spec:\n  metrics:\n  - name: smoke\n    provider:\n      job:\n        spec:\n"
        "          template:\n            spec:\n              containers:\n"
        "              - {name: smoke, image: acme/app:1}\n",
        ["smoke"],
        id="AnalysisTemplate",
    ),
    pytest.param(
        _meta("argoproj.io/v1alpha1", "ClusterAnalysisTemplate")
        + "spec:\n  metrics:\n  - name: smoke\n    provider:\n      job:\n        spec:\n"
        "          template:\n            spec:\n              containers:\n"
        "              - {name: smoke, image: acme/app:1}\n",
        ["smoke"],
        id="ClusterAnalysisTemplate",
    ),
    pytest.param(
        _meta("argoproj.io/v1alpha1", "Experiment")
        + "spec:\n  templates:\n  - name: canary\n    template:\n      spec:\n"
        "        containers: [{name: app, image: acme/app:1}]\n",
        ["app"],
        id="Experiment",
    ),
    pytest.param(
        _meta("argoproj.io/v1alpha1", "Workflow")
        + "spec:\n  templates:\n  - name: build\n    container: {image: acme/app:1}\n"
        "  - name: test\n    script: {image: acme/app:1, source: make}\n"
        "  - name: both\n    containerSet:\n      containers: [{name: a, image: acme/app:1}]\n"
        "    sidecars: [{name: db, image: acme/app:1}]\n"
        "    initContainers: [{name: init, image: acme/app:1}]\n",
        ["build", "test", "a", "db", "init"],
        id="Workflow",
    ),
    pytest.param(
        _meta("argoproj.io/v1alpha1", "WorkflowTemplate")
        + "spec:\n  templates:\n  - name: build\n    container: {image: acme/app:1}\n",
        ["build"],
        id="WorkflowTemplate",
    ),
    pytest.param(
        _meta("argoproj.io/v1alpha1", "ClusterWorkflowTemplate")
        + "spec:\n  templates:\n  - name: build\n    container: {image: acme/app:1}\n",
        ["build"],
        id="ClusterWorkflowTemplate",
    ),
    pytest.param(
        _meta("argoproj.io/v1alpha1", "CronWorkflow")
        + "spec:\n  schedule: '@daily'\n  workflowSpec:\n    templates:\n"
        "    - name: build\n      container: {image: acme/app:1}\n",
        ["build"],
        id="CronWorkflow",
    ),
    pytest.param(
        _meta("tekton.dev/v1", "Task") + "spec:\n  steps:\n  - {name: test, image: acme/app:1}\n"
        "  sidecars:\n  - {name: db, image: acme/app:1}\n",
        ["test", "db"],
        id="Task",
    ),
    pytest.param(
        _meta("tekton.dev/v1beta1", "ClusterTask")
        + "spec:\n  steps:\n  - {name: test, image: acme/app:1}\n",
        ["test"],
        id="ClusterTask",
    ),
    pytest.param(
        _meta("tekton.dev/v1", "Pipeline")
        + "spec:\n  tasks:\n  - name: unit\n    taskSpec:\n      steps:\n"
        "      - {name: test, image: acme/app:1}\n  finally:\n  - name: report\n"
        "    taskSpec:\n      steps:\n      - {name: post, image: acme/app:1}\n",
        ["test", "post"],
        id="Pipeline",
    ),
    pytest.param(
        _meta("tekton.dev/v1", "TaskRun")
        + "spec:\n  taskSpec:\n    steps:\n    - {name: test, image: acme/app:1}\n",
        ["test"],
        id="TaskRun",
    ),
    pytest.param(
        _meta("tekton.dev/v1", "PipelineRun")
        + "spec:\n  pipelineSpec:\n    tasks:\n    - name: unit\n      taskSpec:\n"
        "        steps:\n        - {name: test, image: acme/app:1}\n",
        ["test"],
        id="PipelineRun",
    ),
    pytest.param(
        _meta("jobset.x-k8s.io/v1alpha2", "JobSet")
        + "spec:\n  replicatedJobs:\n  - name: workers\n    template:\n      spec:\n"
        "        template:\n          spec:\n"
        "            containers: [{name: main, image: acme/app:1}]\n",
        ["main"],
        id="JobSet",
    ),
    pytest.param(
        _meta("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")
        + "spec:\n  leaderWorkerTemplate:\n    leaderTemplate:\n      spec:\n"
        "        containers: [{name: leader, image: acme/app:1}]\n    workerTemplate:\n"
        "      spec:\n        containers: [{name: worker, image: acme/app:1}]\n",
        ["leader", "worker"],
        id="LeaderWorkerSet",
    ),
    pytest.param(
        _meta("serving.kserve.io/v1beta1", "InferenceService")
        + "spec:\n  predictor:\n    containers: [{name: kserve-container, image: acme/app:1}]\n",
        ["kserve-container"],
        id="InferenceService",
    ),
    pytest.param(
        _meta("serving.kserve.io/v1alpha1", "ServingRuntime")
        + "spec:\n  containers: [{name: kserve-container, image: acme/app:1}]\n",
        ["kserve-container"],
        id="ServingRuntime",
    ),
    pytest.param(
        _meta("ray.io/v1", "RayCluster") + "spec:\n  headGroupSpec:\n    template:\n      spec:\n"
        "        containers: [{name: ray-head, image: acme/app:1}]\n  workerGroupSpecs:\n"
        "  - groupName: cpu\n    template:\n      spec:\n"
        "        containers: [{name: ray-worker, image: acme/app:1}]\n",
        ["ray-head", "ray-worker"],
        id="RayCluster",
    ),
    pytest.param(
        _meta("ray.io/v1", "RayJob")
        + "spec:\n  rayClusterSpec:\n    headGroupSpec:\n      template:\n        spec:\n"
        "          containers: [{name: ray-head, image: acme/app:1}]\n",
        ["ray-head"],
        id="RayJob",
    ),
    pytest.param(
        _meta("ray.io/v1", "RayService")
        + "spec:\n  rayClusterConfig:\n    headGroupSpec:\n      template:\n        spec:\n"
        "          containers: [{name: ray-head, image: acme/app:1}]\n",
        ["ray-head"],
        id="RayService",
    ),
    pytest.param(
        _meta("kubeflow.org/v1", "PyTorchJob")
        + "spec:\n  pytorchReplicaSpecs:\n    Master:\n      template:\n        spec:\n"
        "          containers: [{name: pytorch, image: acme/app:1}]\n    Worker:\n"
        "      template:\n        spec:\n"
        "          containers: [{name: pytorch, image: acme/app:1}]\n",
        ["Master.pytorch", "Worker.pytorch"],
        id="PyTorchJob",
    ),
    pytest.param(
        _meta("kubeflow.org/v1", "TFJob")
        + "spec:\n  tfReplicaSpecs:\n    Worker:\n      template:\n        spec:\n"
        "          containers: [{name: tensorflow, image: acme/app:1}]\n",
        ["tensorflow"],
        id="TFJob",
    ),
    pytest.param(
        _meta("kubeflow.org/v2beta1", "MPIJob")
        + "spec:\n  mpiReplicaSpecs:\n    Launcher:\n      template:\n        spec:\n"
        "          containers: [{name: launcher, image: acme/app:1}]\n",
        ["launcher"],
        id="MPIJob",
    ),
]


@pytest.mark.parametrize(("text", "containers"), KINDS)
def test_each_tested_kind_has_its_containers_found(text: str, containers: list[str]) -> None:
    targets, problems = scan_text(text, "x.yaml")
    assert [t.container for t in targets] == containers
    assert {str(t.workload) for t in targets} == {f"{_kind(text)}/ns/x"}
    assert not problems


def _kind(text: str) -> str:
    found = re.search(r"^kind: (\w+)$", text, re.MULTILINE)
    assert found is not None
    return found.group(1)


def test_the_docs_list_exactly_the_tested_kinds() -> None:
    """docs/manifests.md keeps a list of the custom kinds that are tested: it is this table."""
    section = DOCS.read_text(encoding="utf-8").split("### Tested kinds", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z]\w+)`", section))
    assert documented == {_kind(p.values[0]) for p in KINDS}  # type: ignore[arg-type]


def test_an_unknown_kind_with_a_pod_template_is_read_like_a_deployment() -> None:
    text = (
        "apiVersion: acme.example/v1\nkind: Anything\nmetadata:\n  name: a\n  annotations:\n"
        "    flux.weave.works/automated: 'true'\n    flux.weave.works/tag.app: semver:~1\n"
        "spec:\n  deep:\n    deeper:\n      template:\n        spec:\n"
        "          containers: [{name: app, image: acme/app:1.0}]\n"
    )
    (target,), problems = scan_text(text, "x.yaml")
    assert (target.container, target.automated, target.policy) == ("app", True, target.policy)
    assert target.policy is not None and target.policy.text == "semver:~1"
    assert target.policy.source == "annotation flux.weave.works/tag.app"
    assert not problems


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  containers: x\n",
            id="configmap",
        ),
        pytest.param(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
            "spec: {template: {spec: {containers: [{name: a, image: acme/app:1}]}}}\n",
            id="a-v1-service-cannot-hold-a-pod-template",
        ),
        pytest.param(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
            "metadata: {name: c}\nspec:\n  versions:\n  - name: v1\n    schema:\n"
            "      example:\n        spec: {containers: [{name: a, image: acme/app:1}]}\n",
            id="a-crd-schema-describes-containers-and-holds-none",
        ),
        pytest.param(
            "apiVersion: acme.example/v1\nkind: Thing\nmetadata: {name: t}\n"
            "containers: [{name: a, image: acme/app:1}]\n",
            id="a-container-list-under-no-spec",
        ),
        pytest.param(
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\n"
            "spec:\n  strategy:\n    canary:\n      steps:\n      - setWeight: 20\n"
            "      - pause: {}\n",
            id="argo-rollouts-steps-are-no-containers",
        ),
    ],
)
def test_shapes_that_are_not_containers_are_left_alone(text: str) -> None:
    assert scan_text(text, "x.yaml") == ([], [])


def test_helm_values_stay_the_helm_finders_so_no_value_is_found_twice() -> None:
    text = (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: h}\n"
        "spec:\n  values:\n    container:\n      image: acme/app:1\n"
        "    spec:\n      containers: [{name: a, image: acme/other:1}]\n"
    )
    targets, _ = scan_text(text, "x.yaml")
    assert [(t.container, str(t.image)) for t in targets] == [("container", "acme/app:1")]


JOBSET = """\
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata:
  name: train
  annotations:
    fluxcd.io/automated: "true"
    fluxcd.io/tag.main: semver:~1
    fluxcd.io/tag.workers.main: semver:~2
spec:
  replicatedJobs:
  - name: driver
    template: {spec: {template: {spec: {containers: [{name: main, image: acme/t:1.0}]}}}}
  - name: workers
    template: {spec: {template: {spec: {containers: [{name: main, image: acme/t:1.0}]}}}}
"""


def test_a_shared_container_name_is_qualified_by_its_group_and_both_annotations_count() -> None:
    targets, problems = scan_text(JOBSET, "x.yaml")
    policies = {t.container: t.policy.text if t.policy else None for t in targets}
    assert policies == {"driver.main": "semver:~1", "workers.main": "semver:~2"}
    assert not problems


def test_a_policy_for_a_container_the_object_lacks_is_still_a_problem() -> None:
    text = JOBSET.replace("tag.workers.main", "tag.nobody.main")
    _, problems = scan_text(text, "x.yaml")
    assert [p.message.split(",")[0] for p in problems] == [
        "annotation fluxcd.io/tag.nobody.main names container 'nobody.main'"
    ]
    assert "driver.main, main, workers.main" in problems[0].message


def test_a_name_that_repeats_in_one_group_too_is_qualified_by_every_group() -> None:
    text = (
        "apiVersion: acme.example/v1\nkind: Pair\nmetadata: {name: p}\nspec:\n"
        "  groups:\n  - name: g\n    blue:\n      spec: {containers: [{name: c, image: a:1}]}\n"
        "    green:\n      spec: {containers: [{name: c, image: a:1}]}\n"
    )
    targets, _ = scan_text(text, "x.yaml")
    assert [t.container for t in targets] == ["g.blue.c", "g.green.c"]


def test_the_workflow_commands_know_the_qualified_names() -> None:
    scan = scan_file(JOBSET, "x.yaml", with_workloads=True)
    assert [(str(w.id), w.containers) for w in scan.workloads] == [
        ("JobSet/default/train", ("driver.main", "workers.main"))
    ]


def test_a_document_with_no_kind_is_read_and_named_with_a_question_mark() -> None:
    text = (
        "metadata: {name: mailer, namespace: q}\n"
        "spec: {template: {spec: {containers: [{name: m, image: acme/m:1}]}}}\n"
    )
    scan = scan_file(text, "x.yaml", with_workloads=True)
    assert [str(t.workload) for t in scan.targets] == ["?/q/mailer"]
    assert scan.workloads == ()  # no kind to name it by on input: not for lock or automate


def test_a_walk_too_deep_is_a_problem_not_a_silent_gap() -> None:
    nested = "".join(f"{'  ' * level}l{level}:\n" for level in range(MAX_DEPTH + 2))
    indent = "  " * (MAX_DEPTH + 2)
    text = (
        "apiVersion: acme.example/v1\nkind: Deep\nmetadata: {name: d}\nspec:\n"
        "  containers: [{name: near, image: acme/a:1}]\n"
        + "".join("  " + line + "\n" for line in nested.splitlines())
        + f"  {indent}spec: {{containers: [{{name: far, image: acme/a:1}}]}}\n"
    )
    targets, problems = scan_text(text, "x.yaml")
    assert [t.container for t in targets] == ["near"]
    assert [p.message for p in problems] == [
        f"Deep/default/d: stopped looking for containers (nested more than {MAX_DEPTH} levels "
        "below the object); images past that point are not read"
    ]


def test_a_walk_over_too_many_nodes_stops_and_says_so() -> None:
    rows = "  - [[1], [2]]\n" * (MAX_NODES // 3 + 1)  # three collections a row
    text = (
        "apiVersion: acme.example/v1\nkind: Big\nmetadata: {name: b}\nspec:\n"
        f"  table:\n{rows}  late:\n    spec:\n      containers:\n"
        "      - {name: c, image: 'acme/a:1'}\n"
    )
    targets, problems = scan_text(text, "x.yaml")
    assert targets == []
    assert [p.message for p in problems] == [
        f"Big/default/b: stopped looking for containers (more than {MAX_NODES:,} nodes); "
        "images past that point are not read"
    ]


# --- names: generateName --------------------------------------------------------------------

GENERATED = (
    "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: pi-\n  namespace: ci\n"
    "spec:\n  template:\n    spec:\n      containers: [{name: pi, image: perl:5.34}]\n"
)


def test_an_object_named_by_generate_name_is_listed_with_a_star(tmp_path: Path) -> None:
    (tmp_path / "job.yaml").write_text(GENERATED)
    text = CliRunner().invoke(cli, ["list", "--all", "--path", str(tmp_path)])
    assert "Job/ci/pi-*" in text.stdout and "?" not in text.stdout
    raw = CliRunner().invoke(cli, ["list", "--all", "--output", "json", "--path", str(tmp_path)])
    (row,) = json.loads(raw.stdout)["targets"]
    assert (row["workload"], row["workloadName"]) == ("Job/ci/pi-*", "pi-*")


@pytest.mark.parametrize("spelled", ["Job/ci/pi-*", "ci:job/pi-*", "job/pi-*"])
def test_the_starred_name_parses_back_to_the_same_workload(spelled: str) -> None:
    assert WorkloadId.parse(spelled, "ci") == WorkloadId("Job", "ci", "pi-*")


@pytest.mark.rig  # runs `imagebot lock` on a local Git work tree
def test_lock_finds_an_object_by_its_starred_name(tmp_path: Path) -> None:
    work = init_repo(tmp_path / "work", {"job.yaml": GENERATED.encode()})
    locked = CliRunner().invoke(cli, ["lock", "Job/ci/pi-*", "--repo", str(work), "--dry-run"])
    assert locked.exit_code == 0, locked.output
    assert "+    imagebot.io/locked" in locked.stdout


# --- the golden trees, parsed again ---------------------------------------------------------

KIND_GOLDENS = sorted(path.name for path in GOLDENS.iterdir() if path.name.startswith("kinds-"))


@pytest.mark.parametrize("case", KIND_GOLDENS)
def test_each_kind_golden_parses_again_with_every_copy_of_the_image_updated(case: str) -> None:
    """The expected tree, read again: every value of the released repository has the new
    version, as many as the original held, and nothing that was read is lost."""
    command = (GOLDENS / case / "case.txt").read_text(encoding="utf-8").splitlines()[1].split()
    released = parse_reference(command[1])
    before = _targets(GOLDENS / case / "original")
    after = _targets(GOLDENS / case / "expected")
    assert len(before) == len(after)
    ours = [t for t in after if t.image.repository == released.repository]
    assert ours and all(t.image.tag == released.tag for t in ours)
    assert len(ours) == sum(t.image.repository == released.repository for t in before)


def _targets(tree: Path) -> list[Target]:
    found: list[Target] = []
    for path in sorted(tree.rglob("*.yaml")):
        targets, problems = scan_text(path.read_text(encoding="utf-8"), path.name)
        assert not problems, problems
        found += targets
    return found


def test_a_lock_on_a_custom_kind_keeps_set_image_away(tmp_path: Path) -> None:
    (tmp_path / "task.yaml").write_text(
        "apiVersion: tekton.dev/v1\nkind: Task\nmetadata:\n  name: t\n  annotations:\n"
        "    flux.weave.works/locked: 'true'\n    flux.weave.works/locked_msg: freeze\n"
        "spec:\n  steps:\n  - name: s\n    image: acme/tool:1.0\n"
    )
    before = (tmp_path / "task.yaml").read_bytes()
    result = CliRunner().invoke(cli, ["set-image", "acme/tool:2.0", "--path", str(tmp_path)])
    assert result.exit_code == 5, result.output
    assert "Task/default/t" in result.output and "freeze" in result.output
    assert (tmp_path / "task.yaml").read_bytes() == before


def test_a_setter_marker_in_an_argo_template_takes_the_template_name() -> None:
    text = (
        "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: w}\n"
        "spec:\n  templates:\n  - name: build\n    container:\n"
        '      image: acme/b:1.0 # {"$imagepolicy": "ci:b"}\n---\n'
        "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImagePolicy\n"
        "metadata: {name: b, namespace: ci}\nspec:\n  imageRepositoryRef: {name: b}\n"
        "  policy: {semver: {range: '>=1.0.0'}}\n---\n"
        "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageRepository\n"
        "metadata: {name: b, namespace: ci}\nspec: {image: acme/b}\n"
    )
    targets, problems = scan_text(text, "x.yaml")
    assert [(t.kind.value, t.container, str(t.workload)) for t in targets] == [
        ("setter", "build", "WorkflowTemplate/default/w")
    ]
    assert not problems
