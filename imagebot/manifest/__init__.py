"""Find image targets in YAML text and rewrite them byte-exactly; walk a tree for files."""
