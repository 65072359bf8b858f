"""imagebot: image automation for GitOps.

When a registry gets a new image tag that a workload's policy wants, imagebot rewrites that one
value in Git, commits and pushes. It never applies anything to a cluster.
"""

# The version's one home: setuptools reads it for the distribution's metadata (pyproject.toml,
# [tool.setuptools.dynamic]) and `imagebot --version` prints it. The distribution is named
# imagebot-gitops; the import package and the command are imagebot.
__version__ = "0.1.0"
