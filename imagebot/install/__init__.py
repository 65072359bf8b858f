"""``imagebot install``'s manifests: deploy/base, shipped in the package, for one repository.

``render`` and ``kustomization_files`` (in ``imagebot.install.render``) turn the install flags into
the objects to apply or the kustomization to keep in Git; ``imagebot.install.kustomize`` builds a
kustomization in memory, as ``kubectl kustomize`` does, for the first. Pure: nothing here talks to
a cluster.
"""
