"""bench/cold.py stays runnable, and its check bites: a kind with a push-time API that still
fetched manifests and blobs fails the bench (issue 20's "1 request per page" done-when)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
import responses

from imagebot.config import PushTimes, RegistryHost

ROOT = Path(__file__).resolve().parent.parent


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_cold", ROOT / "bench" / "cold.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.mark.rig
def test_the_cold_bench_runs_and_shows_one_request_per_page_for_api_kinds() -> None:
    done = subprocess.run(
        [sys.executable, "bench/cold.py", "--repos", "1", "--tags", "110"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    cells = [
        [cell.strip() for cell in line.split("|")[1:4]]
        for line in done.stdout.splitlines()
        if line.startswith("| ") and "---" not in line
    ]
    cold = {kind: first for kind, first, _ in cells}
    warm = {kind: later for kind, _, later in cells}
    assert cold["Google"] == "1 (list 1)"
    assert cold["Docker Hub"] == "1 (hub 1)"
    for kind in ("Quay", "Harbor", "GitHub"):
        assert cold[kind] == "2 (api 2)"  # 110 tags: two pages of 100
        assert warm[kind] == "1 (list 1)"  # the times the API gave, kept by the process
    assert cold["ECR"] == "1 (api 1)"  # DescribeImages pages hold 1000 images
    assert warm["ECR"] == "1 (list 1)"
    assert cold["plain OCI (rig registry)"] == "221 (blob 110, list 1, manifest 110)"
    assert warm["plain OCI (rig registry)"] == "1 (list 1)"


def test_the_cold_bench_fails_when_an_api_kind_fetches_manifests(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_bench()

    def quay_without_its_api(tags: int) -> list[object]:
        off = (RegistryHost("quay.io", rate_limit=bench.FAST, push_times=PushTimes("none")),)

        def fake(mock: responses.RequestsMock, repos: int, count: int) -> None:
            for r in range(repos):
                base = f"https://quay.io/v2/bench/svc{r}"
                bench._tags_list(mock, base, count)
                bench._manifests(mock, base, count, r * count)

        return [bench.Kind("Quay", lambda r: f"quay.io/bench/svc{r}", off, fake, lambda _: 1)]

    def no_rig(repos: int, tags: int, work: Path) -> tuple[object, int]:
        return bench.Row("plain OCI", Counter(), Counter(), Counter(), repos), 0

    monkeypatch.setattr(bench, "kinds", quay_without_its_api)
    monkeypatch.setattr(bench, "run_rig", no_rig)

    assert bench.main(["--repos", "1", "--tags", "3"]) == 1
    assert "FAIL Quay: 6 manifest/blob GETs with a push-time API" in capsys.readouterr().out


def test_the_cold_bench_holds_ecr_to_its_api_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_bench()

    def ecr_without_credentials(tags: int) -> list[object]:
        keyless = (RegistryHost(bench.ECR, rate_limit=bench.FAST, push_times=PushTimes("ecr")),)

        def fake(mock: responses.RequestsMock, repos: int, count: int) -> None:
            for r in range(repos):
                base = f"https://{bench.ECR}/v2/svc{r}"
                bench._tags_list(mock, base, count)
                bench._manifests(mock, base, count, r * count)

        return [bench.Kind("ECR", lambda r: f"{bench.ECR}/svc{r}", keyless, fake, lambda _: 1)]

    def no_rig(repos: int, tags: int, work: Path) -> tuple[object, int]:
        return bench.Row("plain OCI", Counter(), Counter(), Counter(), repos), 0

    monkeypatch.setattr(bench, "kinds", ecr_without_credentials)
    monkeypatch.setattr(bench, "run_rig", no_rig)

    assert bench.main(["--repos", "1", "--tags", "2"]) == 1
    assert "FAIL ECR: 4 manifest/blob GETs with a push-time API" in capsys.readouterr().out
