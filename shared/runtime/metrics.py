"""Prometheus metrics kept in Redis, so every gunicorn process and every worker adds to the same numbers.

A scrape of any gateway process then sees the whole system: request counts, per-stage and end-to-end
job durations, failures, and (computed at scrape time) queue depths. Each sample is one field of one Redis
hash: the JSON `[name, labels]` of the sample, e.g. `["sitter_jobs_total", {"status": "succeeded"}]`.
prometheus_client writes the exposition (text format, or OpenMetrics when the scraper asks for it);
its own in-process metrics do not fit, since they live in one process (or one host's files).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import redis
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

METRICS_KEY = "sitter:metrics:v2"  # JSON fields; the older "sitter:metrics" held exposition text fields
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

Sample = tuple[str, Mapping[str, str], float]


def _field(name: str, labels: Mapping[str, str]) -> str:
    return json.dumps([name, labels], sort_keys=True)  # one field per series, whatever the label order


class Metrics:
    """Increment counters and observe histograms; writes go through a caller's pipeline when given."""

    def __init__(self, client: redis.Redis, key: str = METRICS_KEY) -> None:
        self.client = client
        self.key = key

    def inc(self, name: str, labels: Mapping[str, str], amount: int = 1, pipe: Any = None) -> None:
        (pipe or self.client).hincrby(self.key, _field(name, labels), amount)

    def observe(self, name: str, labels: Mapping[str, str], seconds: float, pipe: Any = None) -> None:
        target = pipe or self.client.pipeline(transaction=False)
        for bound in (*DURATION_BUCKETS, float("inf")):
            if seconds <= bound:
                le = "+Inf" if bound == float("inf") else repr(bound)
                target.hincrby(self.key, _field(f"{name}_bucket", {**labels, "le": le}), 1)
        target.hincrby(self.key, _field(f"{name}_count", labels), 1)
        target.hincrbyfloat(self.key, _field(f"{name}_sum", labels), seconds)
        if pipe is None:
            target.execute()

    def exposition(self, gauges: Iterable[Sample] = (), accept: str = "") -> tuple[bytes, str]:
        """Everything stored plus the given gauge samples, in the format an Accept header asks for (the
        Prometheus text format by default, or OpenMetrics), and its content type."""
        raw: dict[bytes, bytes] = self.client.hgetall(self.key)  # type: ignore[assignment]
        stored = [(*json.loads(field), float(value)) for field, value in raw.items()]
        encode, content_type = choose_encoder(accept)
        return encode(_Snapshot([*stored, *gauges])), content_type

    def render(self, gauges: Iterable[Sample] = ()) -> str:
        """The Prometheus text exposition of everything stored plus the given gauge samples."""
        return self.exposition(gauges)[0].decode()


class _Snapshot(Collector):
    """Samples read once, grouped into their families: each series' samples together, buckets by `le`."""

    def __init__(self, samples: list[Sample]) -> None:
        self.samples = sorted(samples, key=_series_order)

    def collect(self) -> Iterator[Metric]:
        for family, (kind, text) in FAMILIES.items():
            metric = Metric(family.removesuffix("_total") if kind == "counter" else family, text, kind)
            names = (
                {f"{family}_{part}" for part in ("bucket", "sum", "count")}
                if kind == "histogram"
                else {family}
            )
            for name, labels, value in self.samples:
                if name in names:
                    metric.add_sample(name, dict(labels), value)
            yield metric


def _series_order(sample: Sample) -> tuple[list[tuple[str, str]], str, float]:
    name, labels, _ = sample
    le = labels.get("le")
    return sorted((k, v) for k, v in labels.items() if k != "le"), name, float(le) if le else 0.0
