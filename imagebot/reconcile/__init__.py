"""THE use case shared by the CLI and the operator: plan (pure) + run (with injected edges).

``reconcile`` goes from registry answers to one pushed commit; ``edit.edit_repository`` carries
the workflow commands' edits the same way; ``registries.RegistryClients`` keeps registry clients
for as long as a shell runs. Nothing here prints, parses flags or picks exit codes.
"""

from imagebot.reconcile.run import Edges, reconcile

__all__ = ["Edges", "reconcile"]
