"""Tag policies: which tag a container should run. Pure code: no I/O, no clock."""
