"""THE use case shared by the CLI and the operator: plan (pure) + run (with injected edges).

``reconcile`` goes from registry answers to one pushed commit; ``edit.edit_repository`` carries
the workflow commands' edits the same way; ``registries.RegistryClients`` keeps registry clients
for as long as a shell runs. Nothing here prints, parses flags or picks exit codes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imagebot.reconcile.run import Edges, reconcile

__all__ = ["Edges", "reconcile"]


def __getattr__(name: str) -> Any:
    """``Edges`` and ``reconcile`` load the run path (requests, ruamel, GitPython) on first use:
    a shell that only keeps registry clients (``registries``) must not pay for it up front,
    since ``imagebot run`` starts its clone first and loads the rest while git works."""
    if name in __all__:
        from imagebot.reconcile import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
