"""The seed scenario, live: develop-v1.9.0 is pushed, imagebot commits exactly one changed line.

Starts a private registry (the test rig's), which stands in for Docker Hub through imagebot's
mirror setting, so the seed manifest keeps its docker.io names. Only the seed's broken
`docker.io//flaskapp` reference is repaired to `docker.io/demo/flaskapp`.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rig import running_registry  # noqa: E402
from tests.rig.git import make_bare_repo  # noqa: E402

SEED = ROOT / "fixtures" / "seed-example" / "deployment.yaml"


def step(text: str) -> None:
    print(f"\n\033[1m==> {text}\033[0m" if sys.stdout.isatty() else f"\n==> {text}", flush=True)


def main() -> int:
    manifest = SEED.read_bytes().replace(b"docker.io//flaskapp", b"docker.io/demo/flaskapp")
    with (
        tempfile.TemporaryDirectory(prefix="imagebot-demo-") as scratch,
        running_registry() as (
            registry,
            pusher,
        ),
    ):
        work = Path(scratch)
        step(f"registry on {registry.url} stands in for docker.io")
        pusher.push_image("library/nginx", "1.16-perl", created=datetime(2019, 5, 1, tzinfo=UTC))
        pusher.push_image(
            "demo/flaskapp", "develop-v1.8.0", created=datetime(2024, 5, 1, tzinfo=UTC)
        )
        print("pushed nginx:1.16-perl and demo/flaskapp:develop-v1.8.0")

        remote = make_bare_repo(work / "gitops.git", {"deployment.yaml": manifest})
        step(f"Git remote {remote.as_uri()} holds the seed's deployment.yaml")

        config = work / "imagebot.yaml"
        config.write_text(
            "registries:\n"
            "  hosts:\n"
            f"    docker.io:\n      mirror: {registry.host}\n"
            f"    {registry.host}:\n      insecure: true\n"
        )
        run = [
            str(ROOT / ".venv" / "bin" / "imagebot"), "run", "--repo", remote.as_uri(),
            "--config", str(config), "--author-name", "imagebot-demo",
        ]  # fmt: skip
        env = {"XDG_CACHE_HOME": str(work / "cache"), "PATH": "/usr/bin:/bin", "HOME": scratch}

        step("imagebot run (nothing new yet)")
        subprocess.run(run, check=True, env=env)

        step("a developer pushes flaskapp:develop-v1.9.0")
        pusher.push_image(
            "demo/flaskapp", "develop-v1.9.0", created=datetime(2024, 6, 1, tzinfo=UTC)
        )

        step("imagebot run")
        subprocess.run(run, check=True, env=env)

        step("the commit imagebot pushed")
        subprocess.run(
            ["git", "--git-dir", str(remote), "log", "-1", "--stat", "-p", "--format=fuller"],
            check=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
