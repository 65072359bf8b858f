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


@pytest.mark.parametrize(
    ("name", "host", "folder", "api", "tags", "expected"),
    [
        ("Quay", "quay.io", "bench/", "none", 3, "FAIL Quay: 6 manifest/blob GETs"),
        # ECR named, but no AWS credentials: it falls back to manifests, which must fail too.
        ("ECR", "ECR", "", "ecr", 2, "FAIL ECR: 4 manifest/blob GETs"),
    ],
)
def test_the_cold_bench_fails_when_an_api_kind_fetches_manifests(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    host: str,
    folder: str,
    api: str,
    tags: int,
    expected: str,
) -> None:
    bench = load_bench()
    host = bench.ECR if host == "ECR" else host

    def without_its_api(tags: int) -> list[object]:
        off = (RegistryHost(host, rate_limit=bench.FAST, push_times=PushTimes(api)),)

        def fake(mock: responses.RequestsMock, repos: int, count: int) -> None:
            for r in range(repos):
                base = f"https://{host}/v2/{folder}svc{r}"
                bench._tags_list(mock, base, count)
                bench._manifests(mock, base, count, r * count)

        return [bench.Kind(name, lambda r: f"{host}/{folder}svc{r}", off, fake, lambda _: 1)]

    def no_rig(repos: int, tags: int, work: Path) -> tuple[object, int]:
        return bench.Row("plain OCI", Counter(), Counter(), Counter(), repos), 0

    monkeypatch.setattr(bench, "kinds", without_its_api)
    monkeypatch.setattr(bench, "run_rig", no_rig)

    assert bench.main(["--repos", "1", "--tags", str(tags)]) == 1
    assert f"{expected} with a push-time API" in capsys.readouterr().out
