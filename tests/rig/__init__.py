"""The test rig: real registries, token server and Git remotes on 127.0.0.1, plus an image pusher.

pytest reaches it through the fixtures in tests/conftest.py; scripts and benchmarks use
`running_registry` (e.g. `python -c "from tests.rig import running_registry"` from the repo root).
Nothing here imports imagebot: the rig must not test imagebot with imagebot.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.rig.images import ImagePusher
from tests.rig.procs import RigError
from tests.rig.registry import Auth, LoggedRequest, RegistryServer, start_registry

__all__ = [
    "ImagePusher",
    "LoggedRequest",
    "RegistryServer",
    "RigError",
    "running_registry",
    "start_registry",
]


@contextlib.contextmanager
def running_registry(
    workdir: Path | None = None,
    *,
    auth: Auth = None,
    notifications_url: str | None = None,
    notifications_headers: dict[str, str] | None = None,
) -> Iterator[tuple[RegistryServer, ImagePusher]]:
    """A registry and a pusher for it, stopped and cleaned up on exit (for non-pytest code)."""
    own_dir = workdir is None
    where = Path(tempfile.mkdtemp(prefix="imagebot-rig-")) if workdir is None else workdir
    server = start_registry(
        where,
        auth=auth,
        notifications_url=notifications_url,
        notifications_headers=notifications_headers,
    )
    pusher = ImagePusher(server)
    try:
        yield server, pusher
    finally:
        pusher.close()
        server.stop()
        if own_dir:
            shutil.rmtree(where, ignore_errors=True)
