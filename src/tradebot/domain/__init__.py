"""Value types only: no I/O, imports nothing else of ours."""
