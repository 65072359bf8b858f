"""No file is ever edited halfway without a word (issue 16).

Mixed multi-document files are drawn: built-in workloads (free, automated, locked, ignored; some
with a copy of the image in an env value), custom kinds with pod templates at odd depths,
unknown shapes holding the image as a scalar, documents with no kind, lists, documents with a
repeated key, and templated values, sharing one image. ``set-image``, ``release`` and the run's
plan (its pure part: scan, screen, select, finalize, report) must leave every copy of the image
either changed or reported at its line with a reason; a copy in an object imagebot cannot read
is at least a warning; the result re-parses, and only image values changed. Whether imagebot can
read a custom kind is not asserted: a copy there must be "changed OR warned", never "unchanged
and silent", so the test holds before and after containers are read in any kind.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from imagebot.cli import cli
from imagebot.manifest import TreeScan, scan_tree
from imagebot.model import Problem, ProblemCode, Severity, TagInfo, WorkloadId
from imagebot.reconcile.copies import report_copies
from imagebot.reconcile.plan import Plan, finalize, screen, select
from imagebot.reconcile.run import rewrite_changes
from imagebot.reconcile.workflow import Release, Request, release, set_image
from imagebot.refs import parse_reference
from imagebot.registry import RepoScan
from tests.lane_support import examples

TARGET = "ghcr.io/acme/app"
OTHER = "ghcr.io/acme/app-worker"
NEW = "9.9.9"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
FILE = "mixed.yaml"

# Where a copy stands: in a container imagebot reads (``container``); where it never reads
# (``UNREAD``: an unknown shape's scalar, a kind-less document, an env value); in a custom kind's
# pod template (``custom``), which the object walker may or may not read: there a copy must be
# changed or warned about by set-image, and by run also may be an info line for a target that
# is not automated.
UNREAD = frozenset({"unknown", "nokind", "env"})


@dataclass(frozen=True)
class Slot:
    """One value of TARGET in the file: its unique old text and where it stands."""

    value: str
    spot: str  # container, custom, unknown, nokind, env, placeholder, refused
    state: str  # free, automated, locked, ignored (of its workload; free elsewhere)


class Doc:
    """Builds one document's lines, numbering TARGET's values so each can be found again."""

    def __init__(self, counter: Iterator[int]) -> None:
        self.counter = counter
        self.slots: list[Slot] = []

    def image(self, repository: str, spot: str, state: str = "free") -> str:
        if repository != TARGET:
            return f"{OTHER}:5.0"
        number = next(self.counter)
        value = f"{TARGET}:1.0.{number}"
        if spot == "placeholder":
            value = f"{TARGET}:{{{{ .Values.tag{number} }}}}"
        self.slots.append(Slot(value, spot, state))
        return value


ANNOTATIONS = {
    "free": [],
    "automated": ["imagebot.io/automated: 'true'"],
    "locked": ["imagebot.io/automated: 'true'", "imagebot.io/locked: 'true'"],
    "ignored": ["imagebot.io/automated: 'true'", "imagebot.io/ignore: 'true'"],
}
BUILTINS = {
    "Deployment": ("apps/v1", ["spec", "template", "spec"]),
    "StatefulSet": ("apps/v1", ["spec", "template", "spec"]),
    "Job": ("batch/v1", ["spec", "template", "spec"]),
    "CronJob": ("batch/v1", ["spec", "jobTemplate", "spec", "template", "spec"]),
    "Pod": ("v1", ["spec"]),
}
CUSTOM = {
    "AnalysisTemplate": "argoproj.io/v1alpha1",
    "Experiment": "argoproj.io/v1alpha1",
    "JobSet": "jobset.x-k8s.io/v1alpha2",
    "RayCluster": "ray.io/v1",
    "Widget": "example.org/v1",
}


def nest(keys: list[str], body: list[str], indent: int = 0) -> list[str]:
    """``body`` (lines at column 0) under the mapping keys ``keys``."""
    lines = [" " * (indent + 2 * i) + f"{key}:" for i, key in enumerate(keys)]
    pad = " " * (indent + 2 * len(keys))
    return lines + [pad + line for line in body]


def containers(doc: Doc, images: list[str], spot: str, state: str, env: bool) -> list[str]:
    lines = ["containers:"]
    for index, repository in enumerate(images):
        lines += [f"- name: c{index}", f"  image: {doc.image(repository, spot, state)}"]
        if env and repository == TARGET:
            lines += ["  env:", "  - name: SELF", f"    value: {doc.image(TARGET, 'env', state)}"]
    return lines


def metadata(name: str, state: str, duplicate: bool = False) -> list[str]:
    lines = ["metadata:", f"  name: {name}"]
    if duplicate:
        lines.append(f"  name: {name}-again")
    if ANNOTATIONS[state]:
        lines += ["  annotations:", *("    " + a for a in ANNOTATIONS[state])]
    return lines


@st.composite
def builtin(draw: st.DrawFn, doc: Doc, name: str, spot: str = "container") -> list[str]:
    kind = draw(st.sampled_from(sorted(BUILTINS)))
    api, path = BUILTINS[kind]
    state = draw(st.sampled_from(sorted(ANNOTATIONS)))
    images = draw(st.lists(st.sampled_from([TARGET, OTHER]), min_size=1, max_size=3))
    env = draw(st.booleans()) and spot == "container"
    use = "placeholder" if spot == "placeholder" else spot
    body = containers(doc, images, use, state, env)
    head = [f"apiVersion: {api}", f"kind: {kind}", *metadata(name, state, spot == "refused")]
    return head + nest(path, body)


@st.composite
def custom(draw: st.DrawFn, doc: Doc, name: str) -> list[str]:
    kind = draw(st.sampled_from(sorted(CUSTOM)))
    keys = draw(
        st.lists(st.sampled_from(["jobs", "worker", "provider", "job", "spec"]), max_size=3)
    )
    images = draw(st.lists(st.sampled_from([TARGET, OTHER]), min_size=1, max_size=2))
    body = containers(doc, images, "custom", "free", env=False)
    head = [f"apiVersion: {CUSTOM[kind]}", f"kind: {kind}", *metadata(name, "free")]
    return head + nest(["spec", *keys, "template", "spec"], body)


@st.composite
def unknown(draw: st.DrawFn, doc: Doc, name: str) -> list[str]:
    keys = draw(
        st.lists(st.sampled_from(["runner", "image", "config", "deep"]), min_size=1, max_size=3)
    )
    head = ["apiVersion: example.org/v1", "kind: Gadget", *metadata(name, "free")]
    return head + nest(["spec", *keys[:-1]], [f"{keys[-1]}: {doc.image(TARGET, 'unknown')}"])


@st.composite
def kindless(draw: st.DrawFn, doc: Doc, name: str) -> list[str]:
    keys = draw(st.lists(st.sampled_from(["values", "app", "image"]), max_size=2))
    return nest(keys, [f"image: {doc.image(TARGET, 'nokind')}", f"tag: {name}"])


@st.composite
def listed(draw: st.DrawFn, doc: Doc, name: str) -> list[str]:
    items = [draw(builtin(doc, f"{name}-{i}")) for i in range(draw(st.integers(1, 2)))]
    lines = ["apiVersion: v1", "kind: List", "items:"]
    for item in items:
        lines += ["- " + item[0], *("  " + line for line in item[1:])]
    return lines


@st.composite
def mixed_file(draw: st.DrawFn) -> tuple[str, list[Slot]]:
    counter = iter(range(10_000))
    docs: list[list[str]] = []
    slots: list[Slot] = []
    makers = {
        "builtin": builtin,
        "custom": custom,
        "unknown": unknown,
        "kindless": kindless,
        "list": listed,
        "refused": lambda d, n: builtin(d, n, "refused"),
        "placeholder": lambda d, n: builtin(d, n, "placeholder"),
    }
    weights = ["builtin"] * 3 + sorted(makers)
    for index in range(draw(st.integers(1, 5))):
        doc = Doc(counter)
        docs.append(draw(makers[draw(st.sampled_from(weights))](doc, f"w{index}")))
        slots += doc.slots
    return "---\n".join("\n".join(lines) + "\n" for lines in docs), slots


def line_of(text: str, value: str) -> int:
    [number] = [n for n, line in enumerate(text.splitlines(), 1) if line.endswith(value)]
    return number


@dataclass(frozen=True)
class Verdict:
    slot: Slot
    line: int
    changed: bool
    reports: tuple[Problem, ...]  # the reports that name this slot's line


def verdicts(old: str, new: str, slots: list[Slot], reports: Iterable[Problem]) -> list[Verdict]:
    """What happened to each slot: a splice never adds a line, so lines pair up."""
    by_line: dict[int, list[Problem]] = {}
    for report in reports:
        if report.file == FILE and report.line is not None:
            by_line.setdefault(report.line, []).append(report)
    new_lines = new.splitlines()
    found = []
    for slot in slots:
        line = line_of(old, slot.value)
        changed = new_lines[line - 1].endswith(f"{TARGET}:{NEW}")
        found.append(Verdict(slot, line, changed, tuple(by_line.get(line, ()))))
    return found


def assert_never_silently_partial(
    found: list[Verdict], *, unread_is: set[Severity], custom_is: set[Severity]
) -> None:
    for verdict in found:
        if verdict.changed:
            continue
        assert verdict.reports, f"line {verdict.line}: {verdict.slot} unchanged and not reported"
        severities = {r.severity for r in verdict.reports}
        if verdict.slot.spot in UNREAD:
            assert severities & unread_is, f"line {verdict.line}: {verdict.reports}"
        if verdict.slot.spot == "custom":
            assert severities & custom_is, f"line {verdict.line}: {verdict.reports}"


def load(text: str) -> list[Any]:
    yaml = YAML(typ="safe")
    yaml.allow_duplicate_keys = True
    return list(yaml.load_all(text))


def assert_only_images_changed(old: Any, new: Any) -> None:
    """The same data, but strings that were TARGET:OLD and are now TARGET:NEW."""
    if isinstance(old, dict):
        assert isinstance(new, dict) and list(old) == list(new)
        for key in old:
            assert_only_images_changed(old[key], new[key])
    elif isinstance(old, list):
        assert isinstance(new, list) and len(old) == len(new)
        for a, b in zip(old, new, strict=True):
            assert_only_images_changed(a, b)
    elif old != new:
        assert isinstance(old, str) and old.startswith(f"{TARGET}:") and new == f"{TARGET}:{NEW}"


def run_plan(root: Path) -> tuple[Plan, TreeScan]:
    """The run's pure part, as ``run._Planner.plan`` does it, with the registry's answers given:
    every old tag an hour older than NEW."""
    tree = scan_tree(root, only_automated=True, watch_automated=True)
    screened = screen(tree.targets)
    old_tags = sorted({t.image.tag or "" for t in tree.targets if t.image.name == TARGET})
    scans = {
        TARGET: RepoScan(
            (*(TagInfo(tag, T0) for tag in old_tags), TagInfo(NEW, T0 + timedelta(hours=1)))
        ),
        OTHER: RepoScan((TagInfo("5.0", T0),)),
    }
    decisions = select(screened.automated, scans, allow_downgrade=False)
    plan = finalize(decisions, {})
    report_copies(plan, decisions, tree)
    plan.problems[:0] = [*tree.problems, *screened.problems]
    plan.skipped[:0] = [*tree.skipped, *screened.skipped]
    return plan, tree


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_file())
def test_set_image_never_leaves_a_copy_unchanged_and_silent(drawn: tuple[str, list[Slot]]) -> None:
    old, slots = drawn
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / FILE).write_text(old)
        wanted = Release(parse_reference(f"{TARGET}:{NEW}"), NEW, None)
        released = set_image(root, (), wanted, write=True)
        new = (root / FILE).read_text()
    reports = [*released.problems, *released.tree_problems, *released.skipped, *released.copies]
    found = verdicts(old, new, slots, reports)
    warned = {Severity.WARNING, Severity.ERROR}
    assert_never_silently_partial(found, unread_is=warned, custom_is=warned)
    for verdict in found:
        spot, state = verdict.slot.spot, verdict.slot.state
        if spot == "container" and not (state == "locked" or verdict.reports):
            assert verdict.changed, verdict  # a container imagebot reads is always released
        if state == "locked" and spot in ("container", "env"):
            assert not verdict.changed, verdict
    assert_only_images_changed(load(old), load(new))


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_file())
def test_the_run_plan_never_leaves_a_copy_unchanged_and_silent(
    drawn: tuple[str, list[Slot]],
) -> None:
    old, slots = drawn
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / FILE).write_text(old)
        plan, tree = run_plan(root)
    texts, _, failed = rewrite_changes(tree.texts, plan.changes)
    new = texts[FILE][1] if FILE in texts else old
    found = verdicts(old, new, slots, [*plan.problems, *plan.skipped, *failed])
    if new != old:
        # A copy imagebot cannot read is a problem of the run, at least a warning; in a kind the
        # walker reads, a copy that is not automated is an info line.
        assert_never_silently_partial(
            found, unread_is={Severity.WARNING, Severity.ERROR}, custom_is=set(Severity)
        )
        unread = [v for v in found if v.slot.spot in UNREAD and not v.changed]
        for verdict in unread:
            assert any(r in plan.problems for r in verdict.reports), verdict
        assert_only_images_changed(load(old), load(new))
    for verdict in found:
        if verdict.slot.spot == "container" and verdict.slot.state == "automated":
            assert verdict.changed or verdict.reports, verdict


# ---- the issue's own case ----------------------------------------------------------------------

ISSUE_FILE = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
  annotations:
    imagebot.io/automated: "true"
spec:
  template:
    spec:
      containers:
      - name: web
        image: {TARGET}:1.0.0
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: smoke
spec:
  metrics:
  - name: smoke
    provider:
      job:
        spec:
          template:
            spec:
              containers:
              - name: smoke
                image: {TARGET}:1.0.0
              restartPolicy: Never
---
apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata:
  name: canary
spec:
  templates:
  - name: canary
    replicas: 1
    template:
      spec:
        containers:
        - name: web
          image: {TARGET}:1.0.0
"""
ISSUE_LINES = (12, 28, 43)  # Rollout, AnalysisTemplate, Experiment


def _changed_or_warned(new: str, reports: Iterable[Problem], *, info: bool = False) -> None:
    """Issue 16: each copy is updated, or a warning names its line (with ``info``, for a run, an
    info line may: a copy in a kind the walker reads that is not automated); never unchanged and
    silent."""
    warned = {
        p.line for p in reports if p.file == FILE and (info or p.severity is not Severity.INFO)
    }
    lines = new.splitlines()
    assert lines[ISSUE_LINES[0] - 1].endswith(f"{TARGET}:{NEW}")
    for line in ISSUE_LINES[1:]:
        updated = lines[line - 1].endswith(f"{TARGET}:{NEW}")
        assert updated or line in warned, f"line {line} left at the old tag without a warning"


def test_set_image_on_the_issues_file_updates_or_warns(tmp_path: Path) -> None:
    for tree in ("api", "cli"):
        (tmp_path / tree).mkdir()
        (tmp_path / tree / FILE).write_text(ISSUE_FILE)
    wanted = Release(parse_reference(TARGET), NEW, None)
    released = set_image(tmp_path / "api", (), wanted, write=True)
    _changed_or_warned((tmp_path / "api" / FILE).read_text(), released.copies)

    command = ["set-image", f"{TARGET}:{NEW}", "--repo", str(tmp_path / "cli")]
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli" / FILE).read_text() == (tmp_path / "api" / FILE).read_text()
    for problem in released.copies:
        assert f"  {FILE}:{problem.line}: {problem.message}" in result.stderr


def test_release_on_the_issues_file_updates_or_warns(tmp_path: Path) -> None:
    (tmp_path / FILE).write_text(ISSUE_FILE)
    edit = release(tmp_path, (), Release(parse_reference(TARGET), NEW, None), Request())
    _changed_or_warned(edit.texts[FILE][1], edit.problems)


def test_the_run_on_the_issues_file_updates_or_reports_a_problem(tmp_path: Path) -> None:
    (tmp_path / FILE).write_text(ISSUE_FILE)
    plan, tree = run_plan(tmp_path)
    texts, _, failed = rewrite_changes(tree.texts, plan.changes)
    assert not failed
    _changed_or_warned(texts[FILE][1], [*plan.problems, *plan.skipped], info=True)
    for problem in [*plan.problems, *plan.skipped]:
        assert problem.code in (ProblemCode.COPY_NOT_READ, ProblemCode.COPY_LEFT_ALONE), problem
        assert (problem.code is ProblemCode.COPY_NOT_READ) == (problem in plan.problems)


def test_no_image_of_x_says_where_it_was_seen_and_why(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: smoke\ndata:\n"
        f"  IMAGE: {TARGET}:1.0.0\n"
    )
    (tmp_path / "chart.yaml").write_text(f"image: {TARGET}:{{{{ .Values.tag }}}}\n{{{{- end }}}}\n")
    result = CliRunner().invoke(cli, ["set-image", f"{TARGET}:{NEW}", "--repo", str(tmp_path)])
    assert result.exit_code == 5
    stderr = result.stderr
    assert f"no image of {TARGET} under {tmp_path}; seen 2 time(s)" in stderr
    assert f"config.yaml:6: {TARGET}:1.0.0 in ConfigMap/default/smoke at data.IMAGE" in stderr
    assert "imagebot does not read ConfigMap objects" in stderr
    assert "chart.yaml:1:" in stderr and "not read as YAML" in stderr


def test_release_to_some_workloads_names_the_copies_it_left(tmp_path: Path) -> None:
    two = "".join(
        f"---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n"
        f"spec:\n  template:\n    spec:\n      containers:\n      - name: a\n"
        f"        image: {TARGET}:1.0.{index}\n"
        for index, name in enumerate(("one", "two"))
    )
    (tmp_path / FILE).write_text(two)
    wanted = Release(parse_reference(TARGET), NEW, None, (WorkloadId("Deployment", None, "one"),))
    edit = release(tmp_path, (), wanted, Request())
    left = [p for p in edit.problems if p.code is ProblemCode.COPY_LEFT_ALONE]
    assert [(p.line, p.severity) for p in left] == [
        (line_of(two, f"{TARGET}:1.0.1"), Severity.INFO)
    ]
    assert "Deployment/default/two was left alone: not among the workloads named" in left[0].message


def test_set_image_json_lists_the_copies_in_problems_and_skipped(tmp_path: Path) -> None:
    placeholder = ISSUE_FILE.replace(f"image: {TARGET}:1.0.0", f"image: {TARGET}:${{TAG}}", 3)
    (tmp_path / FILE).write_text(ISSUE_FILE + "---\n" + placeholder.split("---\n")[2])
    command = ["set-image", f"{TARGET}:{NEW}", "--repo", str(tmp_path), "--output", "json"]
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    unread = [
        (p["line"], p["severity"]) for p in answer["problems"] if p["code"] == "copy-not-read"
    ]
    left = [(p["line"], p["severity"]) for p in answer["skipped"] if p["code"] == "copy-left-alone"]
    new = (tmp_path / FILE).read_text().splitlines()
    for line in ISSUE_LINES[1:]:
        assert new[line - 1].endswith(f"{TARGET}:{NEW}") or (line, "warning") in unread
    assert left == [(line_of("\n".join(new), f"{TARGET}:${{TAG}}"), "info")]
