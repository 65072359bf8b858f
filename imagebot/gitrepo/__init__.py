"""Git edge: clone or reuse a workspace, commit, push with retries (GitPython)."""
