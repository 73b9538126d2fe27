"""Command-line tools: ``zenith-opt`` and its input formats and diagnostics checker."""
