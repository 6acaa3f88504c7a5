"""Prometheus metrics kept in Redis, so every gunicorn process and every worker adds to the same numbers.

A scrape of any gateway process then sees the whole system: request counts, per-stage and end-to-end
job durations, failures, and (computed at scrape time) queue depths. Each sample is one field of one Redis
hash, named exactly as it is exposed, e.g. `sitter_jobs_total{status="succeeded"}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import redis

METRICS_KEY = "sitter:metrics"
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

FAMILIES: dict[str, tuple[str, str]] = {
    "sitter_http_requests_total": ("counter", "HTTP requests answered by the gateway"),
    "sitter_jobs_submitted_total": ("counter", "Jobs accepted by the gateway"),
    "sitter_jobs_total": ("counter", "Jobs that reached a final status"),
    "sitter_stage_failures_total": ("counter", "Job failures by the stage that failed"),
    "sitter_stage_duration_seconds": ("histogram", "Time a worker spent on one stage of a job"),
    "sitter_job_duration_seconds": ("histogram", "Time from submission to success"),
    "sitter_queue_depth": ("gauge", "Messages waiting in each Celery queue"),
}


def _sample(name: str, labels: Mapping[str, str]) -> str:
    if not labels:
        return name
    inner = ",".join(f'{key}="{_escape(str(value))}"' for key, value in labels.items())
    return f"{name}{{{inner}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """Increment counters and observe histograms; writes go through a caller's pipeline when given."""

    def __init__(self, client: redis.Redis, key: str = METRICS_KEY) -> None:
        self.client = client
        self.key = key

    def inc(self, name: str, labels: Mapping[str, str], amount: int = 1, pipe: Any = None) -> None:
        (pipe or self.client).hincrby(self.key, _sample(name, labels), amount)

    def observe(self, name: str, labels: Mapping[str, str], seconds: float, pipe: Any = None) -> None:
        target = pipe or self.client.pipeline(transaction=False)
        for bound in (*DURATION_BUCKETS, float("inf")):
            if seconds <= bound:
                le = "+Inf" if bound == float("inf") else repr(bound)
                target.hincrby(self.key, _sample(f"{name}_bucket", {**labels, "le": le}), 1)
        target.hincrby(self.key, _sample(f"{name}_count", labels), 1)
        target.hincrbyfloat(self.key, _sample(f"{name}_sum", labels), seconds)
        if pipe is None:
            target.execute()

    def render(self, gauges: Iterable[tuple[str, Mapping[str, str], float]] = ()) -> str:
        """The Prometheus text exposition of everything stored plus the given gauge samples."""
        raw: dict[bytes, bytes] = self.client.hgetall(self.key)  # type: ignore[assignment]
        stored = {field.decode(): value.decode() for field, value in raw.items()}
        for name, labels, value in gauges:
            stored[_sample(name, labels)] = repr(value)
        lines: list[str] = []
        for family, (kind, text) in FAMILIES.items():
            lines += [f"# HELP {family} {text}", f"# TYPE {family} {kind}"]
            members = (
                (family,)
                if kind != "histogram"
                else tuple(f"{family}_{s}" for s in ("bucket", "sum", "count"))
            )
            for sample in sorted(stored, key=_bucket_order):
                if sample.split("{", 1)[0] in members:
                    lines.append(f"{sample} {stored[sample]}")
        return "\n".join(lines) + "\n"


def _bucket_order(sample: str) -> tuple[str, float]:
    """Sort samples by name and labels, with histogram buckets in increasing `le` order."""
    if 'le="' not in sample:
        return sample, 0.0
    head, _, rest = sample.partition('le="')
    bound = rest.split('"', 1)[0]
    return head, float("inf") if bound == "+Inf" else float(bound)
