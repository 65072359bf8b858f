"""imagebot: image automation for GitOps.

When a registry gets a new image tag that a workload's policy wants, imagebot rewrites that one
value in Git, commits and pushes. It never applies anything to a cluster.
"""

__version__ = "0.1.0"
