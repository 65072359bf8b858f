"""OCI distribution client: tags, manifests, creation times, auth, cache (edge: HTTP)."""
