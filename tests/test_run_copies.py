"""``run`` reports a copy of an automated image it could not read as a problem, every cycle.

Issue 16: a Rollout's image was updated and the same image elsewhere in the same file kept its
old tag, exit 0, not a word. Now the cycle still pushes the Rollout, and a copy imagebot cannot
read (here in a ConfigMap's data) is a ``copy-not-read`` problem: ``--strict`` exits 3 on it,
the operator's status lists it (Ready stays True: a warning never stalls), and a skipped
unchanged cycle still carries it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from imagebot.config import GitSettings, RegistrySettings, Settings
from imagebot.controller.status import Stamp, status_for_result
from imagebot.model import ProblemCode, Severity
from imagebot.reconcile import reconcile
from tests.run_support import imagebot


def mixed(image: str) -> bytes:
    """An automated Rollout and a ConfigMap handing the same image to a smoke test."""
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: web\n"
        "  annotations:\n    imagebot.io/automated: 'true'\n    imagebot.io/tag.web: semver:^1\n"
        "spec:\n  template:\n    spec:\n      containers:\n      - name: web\n"
        f"        image: {image}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: smoke\ndata:\n"
        f"  SMOKE_IMAGE: {image}\n"
    ).encode()


# The ConfigMap's copy.
COPY_LINE = mixed("x").decode().splitlines().index("  SMOKE_IMAGE: x") + 1


def test_a_copy_the_run_cannot_read_is_a_problem_on_every_cycle(
    app_image: str, bare_remote: Callable[..., Path], tmp_path: Path
) -> None:
    remote = bare_remote({"app.yaml": mixed(app_image)})
    settings = Settings(
        git=GitSettings(repo=remote.as_uri(), cache_dir=str(tmp_path / "git")),
        registries=RegistrySettings(cache_dir=str(tmp_path / "registry")),
    )

    updated = reconcile(settings)
    assert updated.pushed and [c.new_tag for c in updated.changes] == ["1.1.0"]
    [copy] = updated.problems
    assert (copy.file, copy.line, copy.code) == ("app.yaml", COPY_LINE, ProblemCode.COPY_NOT_READ)
    assert copy.severity is Severity.WARNING
    assert "ConfigMap/default/smoke" in copy.message

    status = status_for_result(updated, Stamp(datetime(2024, 6, 1, tzinfo=UTC), {}, 1))
    assert status["problems"] == [f"app.yaml:{COPY_LINE}: {copy.message}"]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True" and "1 problem(s)" in ready["message"]

    quiet = reconcile(settings, unchanged_since=updated.observed)
    assert quiet.unchanged and quiet.problems == updated.problems


def test_run_strict_exits_3_on_a_copy_it_cannot_read(
    app_image: str, bare_remote: Callable[..., Path], tmp_path: Path
) -> None:
    remote = bare_remote({"app.yaml": mixed(app_image)})
    args = ("run", "--repo", remote.as_uri(), "--output", "json", "--dry-run")

    plain = imagebot(*args, tmp_path=tmp_path)
    strict = imagebot(*args, "--strict", tmp_path=tmp_path, check=False)

    assert strict.returncode == 3, strict.stderr
    result = json.loads(plain.stdout)
    assert [c["tag"] for c in result["changes"]] == ["1.1.0"]
    assert [(p["line"], p["code"], p["severity"]) for p in result["problems"]] == [
        (COPY_LINE, "copy-not-read", "warning")
    ]
