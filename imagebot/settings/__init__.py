"""One settings grammar for every source: ``imagebot.yaml`` (the repository's and ``--config``)
and the ImageAutomation spec.

``fields`` declares each key once (spelling per source, type, range, target, trust); ``grammar``
reads any source through it (import it from there: a run that reads no settings file does not
load it); ``files`` loads YAML files with line numbers and trust. Defaults live in
``imagebot.config``. Reading Kubernetes Secrets is the controller's job, not this package's.
"""

from __future__ import annotations

from imagebot.settings.fields import (
    FIELDS,
    GIT_REMOTE_KEYS,
    HOST_FIELDS,
    SIGNING_KEYS,
    Field,
    Kind,
    Source,
)
from imagebot.settings.files import (
    REPOSITORY_FILE,
    load_settings,
    parse_settings,
    repository_settings,
    settings_loader,
)

__all__ = [
    "FIELDS",
    "GIT_REMOTE_KEYS",
    "HOST_FIELDS",
    "REPOSITORY_FILE",
    "SIGNING_KEYS",
    "Field",
    "Kind",
    "Source",
    "load_settings",
    "parse_settings",
    "repository_settings",
    "settings_loader",
]
