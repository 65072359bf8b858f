"""THE use case shared by the CLI and the operator: plan (pure) + run (with injected edges)."""

from imagebot.reconcile.run import Edges, reconcile

__all__ = ["Edges", "reconcile"]
