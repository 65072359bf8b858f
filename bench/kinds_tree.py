"""A generated GitOps tree of every kind family imagebot reads: built-in workloads and the custom
resources of issue 16 (Argo Rollouts, Argo Workflows, Tekton, JobSet, LeaderWorkerSet, KServe,
Ray, Kubeflow, an unknown CRD, generateName Jobs), plus the files around them (Services,
ConfigMaps, HelmReleases, kustomizations). Shaped like real repositories: a file per object or a
few per file, 1-4 KiB each, a shared sidecar image in about one file in six. Used by
``bench/kinds.py``; nothing here runs imagebot.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

SHARED = "registry.example.org/platform/log-agent"  # the sidecar many files share
REGISTRY = "registry.example.org"


def _agent(rng: random.Random, indent: str) -> str:
    """The shared sidecar, as a container-list entry at ``indent``."""
    return (
        f"{indent}- name: log-agent\n"
        f"{indent}  image: {SHARED}:2.{rng.randint(0, 9)}.{rng.randint(0, 9)}\n"
        f"{indent}  resources:\n{indent}    limits:\n{indent}      memory: 64Mi\n"
    )


def _container(name: str, image: str, indent: str) -> str:
    return (
        f"{indent}- name: {name}\n{indent}  image: {image}\n"
        f"{indent}  imagePullPolicy: IfNotPresent\n"
        f'{indent}  args: ["--port=8080", "--log-level=info"]\n'
        f"{indent}  env:\n{indent}  - name: MODE\n{indent}    value: production\n"
        f"{indent}  ports:\n{indent}  - containerPort: 8080\n{indent}    name: http\n"
        f"{indent}  resources:\n{indent}    requests:\n{indent}      cpu: 100m\n"
        f"{indent}      memory: 128Mi\n"
    )


def _pod(rng: random.Random, name: str, indent: str, sidecar: bool) -> str:
    """A pod spec's body (``containers:`` and what surrounds it) at ``indent``."""
    image = f"{REGISTRY}/team/{name}:1.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
    body = f"{indent}serviceAccountName: {name}\n{indent}containers:\n"
    body += _container(name.split("-", maxsplit=1)[0], image, indent)
    if sidecar:
        body += _agent(rng, indent)
    return body + f"{indent}restartPolicy: Always\n" if "job" not in name else body


def _meta(kind: str, api: str, name: str, ns: str, automated: bool) -> str:
    notes = (
        "  annotations:\n    fluxcd.io/automated: 'true'\n    fluxcd.io/tag.log-agent: semver:~2\n"
        if automated
        else ""
    )
    return (
        f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
        f"  labels:\n    app.kubernetes.io/name: {name}\n    app.kubernetes.io/part-of: shop\n"
        + notes
    )


def deployment(rng: random.Random, name: str, ns: str, side: bool) -> str:
    kind = rng.choice(["Deployment", "StatefulSet", "DaemonSet"])
    return (
        _meta(kind, "apps/v1", name, ns, side and rng.random() < 0.3)
        + f"spec:\n  replicas: 3\n  selector:\n    matchLabels:\n      app: {name}\n"
        + f"  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n"
        + _pod(rng, name, "      ", side)
    )


def rollout(rng: random.Random, name: str, ns: str, side: bool) -> str:
    """A Rollout, its AnalysisTemplate and an Experiment in one file, as Argo's examples keep
    them: the same images in all three."""
    image = f"{REGISTRY}/team/{name}:1.{rng.randint(0, 30)}.0"
    pod = _container("app", image, "        ") + (_agent(rng, "        ") if side else "")
    return (
        _meta("Rollout", "argoproj.io/v1alpha1", name, ns, False)
        + "spec:\n  replicas: 5\n  strategy:\n    canary:\n      steps:\n      - setWeight: 20\n"
        + "      - pause: {duration: 10m}\n      - analysis:\n          templates:\n"
        + f"          - templateName: {name}-smoke\n"
        + f"  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n"
        + "      containers:\n"
        + pod.replace("        ", "      ")
        + "---\n"
        + _meta("AnalysisTemplate", "argoproj.io/v1alpha1", f"{name}-smoke", ns, False)
        + "spec:\n  metrics:\n  - name: smoke\n    failureLimit: 1\n    provider:\n"
        + "      job:\n        spec:\n          backoffLimit: 1\n          template:\n"
        + "            spec:\n              restartPolicy: Never\n              containers:\n"
        + _container("smoke", image, "              ")
        + "---\n"
        + _meta("Experiment", "argoproj.io/v1alpha1", f"{name}-exp", ns, False)
        + "spec:\n  duration: 1h\n  templates:\n  - name: baseline\n    replicas: 1\n"
        + "    selector:\n      matchLabels:\n        app: baseline\n    template:\n"
        + "      metadata:\n        labels:\n          app: baseline\n      spec:\n"
        + "        containers:\n"
        + pod
    )


def workflow(rng: random.Random, name: str, ns: str, side: bool) -> str:
    kind = rng.choice(["Workflow", "WorkflowTemplate", "CronWorkflow"])
    image = f"{REGISTRY}/ci/{name}:0.{rng.randint(1, 40)}"
    templates = (
        "  entrypoint: main\n  templates:\n  - name: main\n    steps:\n"
        "    - - name: build\n        template: build\n    - - name: report\n"
        "        template: report\n"
        f"  - name: build\n    container:\n      image: {image}\n"
        "      command: [make]\n      args: [build]\n"
        f"  - name: report\n    script:\n      image: {REGISTRY}/ci/python:3.12\n"
        "      command: [python]\n      source: |\n        print('image: not/this:1.0')\n"
    )
    if side:
        templates += "    sidecars:\n" + _agent(rng, "    ")
    if kind == "CronWorkflow":
        inner = "\n".join("  " + line if line else line for line in templates.split("\n"))
        body = "spec:\n  schedule: '0 3 * * *'\n  workflowSpec:\n" + inner
    else:
        body = "spec:\n" + templates
    meta = _meta(kind, "argoproj.io/v1alpha1", name, ns, False)
    if kind == "Workflow":
        meta = meta.replace(f"  name: {name}\n", f"  generateName: {name}-\n")
    return meta + body


def tekton(rng: random.Random, name: str, ns: str, side: bool) -> str:
    image = f"{REGISTRY}/ci/{name}:0.{rng.randint(1, 40)}"

    def steps(indent: str) -> str:
        return (
            f"{indent}- name: test\n{indent}  image: {image}\n{indent}  script: |\n"
            f"{indent}    make test\n{indent}- name: lint\n"
            f"{indent}  image: {REGISTRY}/ci/golangci-lint:1.59\n{indent}  args: [run]\n"
        )

    return (
        _meta("Task", "tekton.dev/v1", f"{name}-test", ns, False)
        + "spec:\n  params:\n  - name: revision\n    type: string\n  steps:\n"
        + steps("  ")
        + "---\n"
        + _meta("Pipeline", "tekton.dev/v1", name, ns, False)
        + "spec:\n  tasks:\n  - name: unit\n    taskSpec:\n      steps:\n"
        + steps("      ")
        + (("      sidecars:\n" + _agent(rng, "      ")) if side else "")
    )


def jobset(rng: random.Random, name: str, ns: str, side: bool) -> str:
    pod = _pod(rng, f"{name}-job", "                ", side)
    return (
        _meta("JobSet", "jobset.x-k8s.io/v1alpha2", name, ns, False)
        + "spec:\n  replicatedJobs:\n  - name: workers\n    replicas: 4\n    template:\n"
        + "      spec:\n        parallelism: 2\n        completions: 2\n        template:\n"
        + "          spec:\n"
        + pod.replace("                ", "            ")
    )


def lws(rng: random.Random, name: str, ns: str, side: bool) -> str:
    return (
        _meta("LeaderWorkerSet", "leaderworkerset.x-k8s.io/v1", name, ns, False)
        + "spec:\n  replicas: 2\n  leaderWorkerTemplate:\n    size: 4\n    workerTemplate:\n"
        + "      spec:\n"
        + _pod(rng, f"{name}-worker", "        ", side)
    )


def kserve(rng: random.Random, name: str, ns: str, side: bool) -> str:
    image = f"{REGISTRY}/models/{name}:v{rng.randint(1, 9)}"
    return (
        _meta("InferenceService", "serving.kserve.io/v1beta1", name, ns, False)
        + "spec:\n  predictor:\n    minReplicas: 1\n    containers:\n"
        + _container("kserve-container", image, "    ")
        + (_agent(rng, "    ") if side else "")
    )


def ray(rng: random.Random, name: str, ns: str, side: bool) -> str:
    image = f"{REGISTRY}/ml/ray:2.{rng.randint(1, 40)}.0"
    return (
        _meta("RayCluster", "ray.io/v1", name, ns, False)
        + "spec:\n  headGroupSpec:\n    rayStartParams:\n      dashboard-host: 0.0.0.0\n"
        + "    template:\n      spec:\n        containers:\n"
        + _container("ray-head", image, "        ")
        + "  workerGroupSpecs:\n  - groupName: cpu\n    replicas: 2\n    rayStartParams: {}\n"
        + "    template:\n      spec:\n        containers:\n"
        + _container("ray-worker", image, "        ")
        + (_agent(rng, "        ") if side else "")
    )


def pytorch(rng: random.Random, name: str, ns: str, side: bool) -> str:
    image = f"{REGISTRY}/ml/{name}:1.{rng.randint(0, 9)}"
    replica = (
        "      restartPolicy: OnFailure\n      template:\n        spec:\n          containers:\n"
        + _container("pytorch", image, "          ")
    )
    return (
        _meta("PyTorchJob", "kubeflow.org/v1", name, ns, False)
        + "spec:\n  pytorchReplicaSpecs:\n    Master:\n      replicas: 1\n"
        + replica
        + "    Worker:\n      replicas: 3\n"
        + replica
        + (_agent(rng, "          ") if side else "")
    )


def custom(rng: random.Random, name: str, ns: str, side: bool) -> str:
    return (
        _meta("BatchRunner", "batch.acme.example/v1", name, ns, False)
        + "spec:\n  schedule: '@hourly'\n  podTemplate:\n    spec:\n"
        + _pod(rng, f"{name}-runner", "      ", side)
    )


def job(rng: random.Random, name: str, ns: str, side: bool) -> str:
    meta = _meta("Job", "batch/v1", name, ns, False).replace(
        f"  name: {name}\n", f"  generateName: {name}-\n"
    )
    return meta + "spec:\n  template:\n    spec:\n" + _pod(rng, f"{name}-job", "      ", side)


def service(rng: random.Random, name: str, ns: str, side: bool) -> str:
    return (
        _meta("Service", "v1", name, ns, False)
        + f"spec:\n  selector:\n    app: {name}\n  ports:\n  - port: 80\n    targetPort: http\n"
    )


def config(rng: random.Random, name: str, ns: str, side: bool) -> str:
    return (
        _meta("ConfigMap", "v1", name, ns, False)
        + f"data:\n  settings.yaml: |\n    image: {SHARED}:0.1\n    retries: 3\n"
    )


def helm(rng: random.Random, name: str, ns: str, side: bool) -> str:
    return (
        _meta("HelmRelease", "helm.toolkit.fluxcd.io/v2", name, ns, False)
        + "spec:\n  interval: 10m\n  chart:\n    spec:\n      chart: app\n"
        + f"  values:\n    image:\n      repository: {REGISTRY}/team/{name}\n"
        + f"      tag: 1.{rng.randint(0, 9)}.0\n    replicaCount: 2\n"
    )


FAMILIES: dict[str, tuple[int, Callable[[random.Random, str, str, bool], str]]] = {
    # weight, writer: built-in kinds dominate, as in the repositories of issue 16's study
    "deployment": (30, deployment),
    "service": (12, service),
    "config": (8, config),
    "helm": (6, helm),
    "job": (4, job),
    "rollout": (6, rollout),
    "workflow": (6, workflow),
    "tekton": (6, tekton),
    "jobset": (4, jobset),
    "lws": (3, lws),
    "kserve": (4, kserve),
    "ray": (4, ray),
    "pytorch": (4, pytorch),
    "custom": (3, custom),
}


def generate(root: Path, count: int, seed: int = 16) -> dict[str, int]:
    """Write ``count`` files under ``root``; returns how many of each family."""
    rng = random.Random(seed)
    names, weights = list(FAMILIES), [weight for weight, _ in FAMILIES.values()]
    made = dict.fromkeys(names, 0)
    for index in range(count):
        family = rng.choices(names, weights)[0]
        made[family] += 1
        side = rng.random() < 1 / 6
        name = f"{family}-{index:05d}"
        text = FAMILIES[family][1](rng, name, f"team{index % 20:02d}", side)
        path = root / f"clusters/prod/team{index % 20:02d}/{family}/{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return made
