"""Kubernetes operator shell: kopf handlers over the shared reconcile (status, events, metrics)."""
