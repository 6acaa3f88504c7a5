"""Sitter's user-facing tools: the in-process pipeline, the `sitter` CLI, benchmarks and API clients."""
