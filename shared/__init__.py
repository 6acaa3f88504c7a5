"""Sitter's common package: errors, image decoding, model catalogue, gallery and settings.

Nothing here imports Celery, Flask or an inference runtime, so every role (CLI, gateway, workers) can use it.
"""
