"""The runtime: memory pool, executables and targets. It never sees frontends."""
