"""Sitter's common package: what every role (CLI, gateway, workers, trainer) imports with the base install.

Pure names and functions: typed errors, yes/no flags, image decoding, blob encodings, the model catalogue,
the gallery and built-in styles, queue and task names, limits, settings, webhook signing and URL checks,
and what a job and a preview are by name (`jobs`, `previews`). Importing them needs only the standard
library and the base dependencies (numpy, Pillow, pillow-heif); never Celery, Redis, boto3,
prometheus_client or Flask, which `tests/test_shared_split.py` checks.

`shared.runtime` holds the parts that need the service extras: the Celery app and broker, the worker
lifecycle, blob storage, the job store, preview replies, the fan-out chord and the metrics.
"""
