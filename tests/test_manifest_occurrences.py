"""Copies of an image that no target covers: found in any object, each with why it was left.

Issue 16: a Rollout's image was updated and the same image in an AnalysisTemplate in the same
file kept its old tag, without a word. The scan now names every such copy (``occurrences``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from imagebot.manifest import scan_tree
from imagebot.manifest.occurrences import Reason
from imagebot.manifest.scan import scan_file

APP = "ghcr.io/acme/app"

ROLLOUT = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: app
        image: {APP}:1.0
"""


def copies(
    text: str, file: str = "f.yaml", watch: tuple[str, ...] = (APP,)
) -> list[tuple[int, Reason, str]]:
    scan = scan_file(text, file, watch=watch)
    return [(o.location.line, o.reason, o.holder) for o in scan.occurrences]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            ROLLOUT + "---\napiVersion: example.org/v1\nkind: Gadget\nmetadata:\n  name: check\n"
            f"spec:\n  smoke:\n    runner: {APP}:1.0\n",
            [(18, Reason.UNREAD_KIND, "Gadget/default/check")],
            id="issue-16-a-custom-resource-beside-a-rollout",
        ),
        pytest.param(
            f"kind: Widget\napiVersion: example.org/v1\nmetadata: {{name: w, namespace: ns}}\n"
            f"spec:\n  deep:\n    runner: {APP}@sha256:{'a' * 64}\n",
            [(6, Reason.UNREAD_KIND, "Widget/ns/w")],
            id="unknown-shape-by-digest",
        ),
        pytest.param(f"image: {APP}:2\n", [(1, Reason.NO_KIND, "")], id="no-kind"),
        pytest.param(
            f"values:\n  image: {APP}\n", [(2, Reason.NO_KIND, "")], id="bare-name-under-image"
        ),
        pytest.param(
            ROLLOUT + f"        env:\n        - {{name: SELF, value: '{APP}:1.0'}}\n",
            [(12, Reason.UNREAD_FIELD, "Rollout/default/web")],
            id="env-value-of-a-read-workload",
        ),
        pytest.param(
            ROLLOUT.replace(f"{APP}:1.0", f'"{APP}:{{{{ .Values.tag }}}}"'),
            [(10, Reason.PLACEHOLDER, "Rollout/default/web")],
            id="placeholder",
        ),
        pytest.param(
            ROLLOUT.replace("  name: web\n", "  name: web\n  name: twice\n"),
            [(11, Reason.REFUSED_DOCUMENT, "Rollout/default/web")],
            id="document-with-a-repeated-key",
        ),
        pytest.param(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n"
            f"  IMAGE: {APP}:1.0\n  note: |\n    image: {APP}:1.0\n",
            [(5, Reason.UNREAD_KIND, "ConfigMap/default/c")],
            id="configmap-value-but-not-its-block-text",
        ),
    ],
)
def test_a_copy_no_target_covers_is_found_with_its_reason(
    text: str, expected: list[tuple[int, Reason, str]]
) -> None:
    assert copies(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(ROLLOUT, id="the-target-itself"),
        pytest.param(ROLLOUT + f"# {APP}:0.9 in a comment\n", id="comment"),
        pytest.param(
            f"kind: Widget\nmetadata:\n  name: {APP}-x\n  labels: {{app: app}}\n"
            "spec: {app: app}\n",
            id="labels-and-look-alikes",
        ),
        pytest.param(
            f"kind: Widget\nspec:\n  args: ['--image={APP}:1.0', '{APP}-worker:1.0']\n"
            f"  repo: {APP}\n",
            id="args-other-images-and-a-bare-name-not-under-image",
        ),
        pytest.param(
            f"images:\n- name: {APP}\n  newTag: '1.0'\n- name: old/app\n  newName: {APP}\n",
            id="kustomize-entry-names",
        ),
        pytest.param(
            "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageRepository\n"
            f"metadata: {{name: app}}\nspec:\n  image: {APP}\n",
            id="flux-image-repository",
        ),
        pytest.param(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: h}\n"
            f"spec:\n  values:\n    image: {{repository: {APP}, tag: '1.0'}}\n"
            f"    worker:\n      image: {APP}\n      tag: '1.0'\n",
            id="helm-names-beside-their-tags",
        ),
        pytest.param(
            ROLLOUT.replace(f"{APP}:1.0", f"&img {APP}:1.0") + "  replicas: 1\n",
            id="an-anchored-target",
        ),
    ],
)
def test_what_is_not_a_copy_left_alone(text: str) -> None:
    file = "kustomization.yaml" if text.startswith("images:") else "f.yaml"
    assert copies(text, file) == []


def test_copies_match_by_canonical_name() -> None:
    text = (
        "kind: Widget\nspec:\n  a: nginx:1.25\n  b: docker.io/library/nginx:1.25\n"
        "  c: index.docker.io/library/nginx@sha256:" + "b" * 64 + "\n  d: nginx-ingress:1\n"
        "  e: ghcr.io/nginx:1\n"
    )
    found = copies(text, watch=("docker.io/library/nginx",))
    assert [line for line, _, _ in found] == [3, 4, 5]


def test_a_setter_marked_value_is_covered_and_its_unmarked_neighbour_is_not() -> None:
    text = (
        f'kind: Widget\nspec:\n  runner: {APP}:1.0 # {{"$imagepolicy": "flux-system:app"}}\n'
        f"  other: {APP}:1.0\n"
    )
    assert copies(text) == [(4, Reason.UNREAD_FIELD, "Widget/default/?")]


def test_a_template_file_is_searched_as_text() -> None:
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n"
        "      containers:\n      {{- range .Values.workers }}\n"
        f"      - image: {APP}:{{{{ .Chart.AppVersion }}}}\n      {{- end }}\n"
    )
    scan = scan_file(text, "templates/d.yaml", watch=(APP,))
    assert scan.skipped is not None
    assert [(o.location.line, o.reason, o.why) for o in scan.occurrences] == [
        (8, Reason.UNREAD_FILE, "a Helm or Go template")
    ]


def test_a_file_scanned_without_watching_costs_nothing_more() -> None:
    scan = scan_file(ROLLOUT + f"---\nkind: Widget\nspec: {{x: {APP}:1.0}}\n", "f.yaml")
    assert scan.occurrences == ()


def test_watching_the_files_own_images_finds_their_copies() -> None:
    text = ROLLOUT + f"---\nkind: Widget\nspec: {{x: {APP}:1.0, y: nginx:1}}\n"
    scan = scan_file(text, "f.yaml", watch_own=True)
    assert [(o.location.line, o.name) for o in scan.occurrences] == [(13, APP)]


def test_the_search_is_linear_in_the_file() -> None:
    """Ten times the documents cost about ten times the time, not a hundred."""
    widget = (
        f"---\nkind: Widget\nmetadata: {{name: w}}\nspec:\n  a:\n    b:\n    - {APP}:1.0\n    - x\n"
    )

    def timed(count: int) -> float:
        text = ROLLOUT + widget * count
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            scan = scan_file(text, "f.yaml", watch=(APP,))
            best = min(best, time.perf_counter() - started)
        assert len(scan.occurrences) == count
        return best

    small, large = timed(200), timed(2000)
    assert large < small * 25, (small, large)


@pytest.mark.parametrize("keys", ["distinct", "repeated"])
def test_many_copies_in_one_object_cost_each_a_look_at_it_once(
    monkeypatch: pytest.MonkeyPatch, keys: str
) -> None:
    """A ConfigMap of n copies (or one key repeated n times, which YAML refuses and a hostile
    repository writes anyway): what holds them is looked at once, not once per copy, each
    time through all n keys (16,384 copies took minutes)."""
    from imagebot.manifest import nodes

    looked_at = [0]
    real_get = nodes.get

    def counted(node: object, key: str) -> object:
        looked_at[0] += len(getattr(node, "value", ()) or ())
        return real_get(node, key)  # type: ignore[arg-type]

    monkeypatch.setattr(nodes, "get", counted)
    count = 2000
    name = (lambda i: f"k{i}") if keys == "distinct" else (lambda i: "image")
    data = "".join(f"  {name(i)}: {APP}:1.{i}\n" for i in range(count))
    scan = scan_file(
        f"kind: ConfigMap\nmetadata: {{name: c}}\ndata:\n{data}", "c.yaml", watch=(APP,)
    )
    assert len(scan.occurrences) == count
    assert looked_at[0] < 50 * count, looked_at[0]


def test_a_tree_scan_reads_a_file_for_a_copy_but_not_for_a_label(tmp_path: Path) -> None:
    """A ConfigMap holding the image has no image field to screen for; a Service labelled
    ``app: app`` mentions the name but holds no copy, and is not composed."""
    (tmp_path / "config.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata:\n  IMG: {APP}:1.0\n"
    )
    (tmp_path / "service.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: app\n  labels:\n    app: web\n"
    )
    scan = scan_tree(tmp_path, watch=(APP,))
    assert [(o.location.file, o.location.line) for o in scan.occurrences] == [("config.yaml", 5)]
    assert scan.files_composed == 1
    assert scan_tree(tmp_path).files_composed == 0


def test_a_template_file_names_no_copy_by_a_label() -> None:
    text = (
        "metadata:\n  labels:\n    app: nginx\n    nginx:\n{{- if .Values.x }}\n"
        "image: nginx:{{ .Values.tag }}\nsidecar: docker.io/library/nginx:1.25\n{{- end }}\n"
    )
    scan = scan_file(text, "templates/t.yaml", watch=("docker.io/library/nginx",))
    assert scan.skipped is not None
    assert [(o.location.line, o.value) for o in scan.occurrences] == [
        (6, "nginx:"),
        (7, "docker.io/library/nginx:1.25"),
    ]
