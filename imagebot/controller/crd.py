"""Names of the ImageAutomation custom resource and of the keys imagebot reads and writes on it.

One place for the API group, version, plural and annotation names so that handlers, the webhook
receiver, tests and ``deploy/base/crd.yaml`` cannot drift apart. Constants only.
"""

from __future__ import annotations

GROUP = "imagebot.io"
VERSION = "v1alpha1"
PLURAL = "imageautomations"
KIND = "ImageAutomation"
API_VERSION = f"{GROUP}/{VERSION}"
# `kubectl get ibauto`. Not `imgauto`: Flux users already type that for ImageUpdateAutomation,
# and kubectl would pick one of the two silently.
SHORT_NAMES = ("ibauto",)

# Set by the webhook receiver (and by users: `kubectl annotate ... imagebot.io/reconcile-at=now`)
# to ask for a cycle now. It goes through the API server so that whichever replica holds the
# peering lead does the work, not the replica the webhook happened to reach.
REQUESTED_AT = "imagebot.io/reconcile-at"

DEFAULT_INTERVAL_SECONDS = 300.0  # Flux v1 polled every 5 minutes; so does the seed walkthrough
MAX_PROBLEMS_IN_STATUS = 10  # status must stay small: etcd objects are limited to ~1.5 MiB
