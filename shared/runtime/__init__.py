"""Sitter's runtime: what the gateway and the workers need beyond the pure `shared` package.

The Celery app and broker setup, the worker lifecycle, blob storage and its ledger, the job store in Redis,
the cut-out preview's reply channel, the chord of a job with several people, and the metrics kept in Redis.
These modules import Celery, Redis, boto3 or prometheus_client (the `worker` and `gateway` extras); the CLI
and the pure cores never import them.
"""
