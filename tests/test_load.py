"""A CI-sized load test on loopback: 30 jobs from 6 client threads against the live stack (gateway over
HTTP, one worker process per service). Every accepted job must reach a terminal state and succeed with
the right picture (no job gets another's result), no stage runs twice, and the queues drain.
Prints throughput and end-to-end latency percentiles (POST to the poll that sees `succeeded`)."""

from __future__ import annotations

import io
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import redis
import requests
from PIL import Image

from sitter.client import SitterClient
from tests.conftest import stage_runs, wait_for
from tests.live_stack import LiveStack

pytestmark = pytest.mark.slow

CLIENTS, JOBS_PER_CLIENT = 6, 5
PAINTINGS = ("starry-night", "great-wave")
PLACEMENT = {"x": 40, "y": 60, "height": 240}
QUEUES = ("segment", "composite", *(f"stylize.{painting}" for painting in PAINTINGS))


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _stage_runs(base_url: str) -> dict[str, float]:
    return stage_runs(requests.get(f"{base_url}/metrics", timeout=30).text)


def test_concurrent_jobs_all_finish_correctly_and_the_queues_drain(
    live_stack: LiveStack, portrait_jpeg: bytes
) -> None:
    mirrored = io.BytesIO()
    Image.open(io.BytesIO(portrait_jpeg)).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored, "JPEG")
    portraits = (portrait_jpeg, mirrored.getvalue())
    broker = redis.Redis.from_url(live_stack.redis_url)
    wait_for(lambda: sum(broker.llen(queue) for queue in QUEUES) == 0, 120, "earlier tests' jobs to drain")
    runs_before = _stage_runs(live_stack.base_url)

    def one_client(number: int) -> list[tuple[str, tuple[int, int], float]]:
        client = SitterClient(live_stack.base_url)
        done = []
        for index in range(JOBS_PER_CLIENT):
            kind = index % 2, number % 2  # which portrait, which painting
            started = time.monotonic()
            job = client.submit(portraits[kind[0]], painting=PAINTINGS[kind[1]], **PLACEMENT)
            finished = client.wait(job.id, timeout=300, interval=0.05, max_interval=0.1)
            assert finished.status == "succeeded"
            done.append((job.id, kind, time.monotonic() - started))
        return done

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = [item for batch in pool.map(one_client, range(CLIENTS)) for item in batch]
    elapsed = time.monotonic() - started

    ids = [job_id for job_id, _, _ in outcomes]
    assert len(ids) == CLIENTS * JOBS_PER_CLIENT == len(set(ids))  # none lost, none duplicated
    client = SitterClient(live_stack.base_url)
    results: dict[tuple[int, int], list[np.ndarray]] = {}
    for job_id, kind, _ in outcomes:
        results.setdefault(kind, []).append(_pixels(client.result(job_id)))
    assert len(results) == 4, "the job mix covers both portraits on both paintings"
    references = {kind: pictures[0] for kind, pictures in results.items()}
    for kind, pictures in results.items():
        for picture in pictures:  # the same inputs give the same picture; other inputs a different one
            assert np.abs(picture - references[kind]).mean() < 1.0
            for other, reference in references.items():
                if other != kind and reference.shape == picture.shape:
                    assert np.abs(picture - reference).mean() > 1.0, "a job got another job's result"

    wait_for(lambda: sum(broker.llen(queue) for queue in QUEUES) == 0, 60, "the queues to drain")
    runs_after = _stage_runs(live_stack.base_url)
    for stage in ("segment", "stylize", "composite"):  # a redelivered or duplicated task would count twice
        assert runs_after[stage] - runs_before.get(stage, 0.0) == len(ids), stage

    latencies = sorted(seconds for _, _, seconds in outcomes)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"\nload: {len(ids)} jobs from {CLIENTS} clients in {elapsed:.1f} s = {len(ids) / elapsed * 60:.1f} "
        f"jobs/min; end-to-end p50 {cuts[49]:.2f} s, p95 {cuts[94]:.2f} s, p99 {cuts[98]:.2f} s"
    )
