"""Load on loopback: many clients, each with its own API key, submit all their jobs at once against a stack
of its own (gateway over HTTP, one worker process per service), then poll them to the end.

Checks: every accepted job reaches a terminal state and succeeds with the right picture (no job gets
another's result), no stage runs twice and none is lost, the queues drain, and no worker's memory grows
with the jobs it serves (resident memory after a warm-up against after the load). Prints throughput, the
end-to-end latency percentiles (POST to the first poll that sees `succeeded`; with a burst of jobs this
is mostly time spent queued), the deepest queue seen and each worker's memory.

CI runs 60 jobs from 12 clients on each broker; `make load` runs 400 from 40 (SITTER_LOAD_JOBS,
SITTER_LOAD_CLIENTS); SITTER_LOAD_BROKERS=redis picks one broker (docs/brokers.md).
"""

from __future__ import annotations

import io
import os
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import redis
import requests
from PIL import Image

from shared.runtime.broker import Broker, broker_for
from shared.settings import Settings
from sitter.client import SitterClient
from tests.helpers.brokers import BrokerChoice
from tests.helpers.metrics import stage_runs
from tests.helpers.processes import Spawn, Spawned, free_port, start_gateway, start_workers
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow

JOBS = int(os.environ.get("SITTER_LOAD_JOBS", "60"))
CLIENTS = int(os.environ.get("SITTER_LOAD_CLIENTS", "12"))
BROKERS = tuple(os.environ.get("SITTER_LOAD_BROKERS", "redis,rabbitmq").split(","))
WARMUP_JOBS = 8  # enough for every pool process to have run every kind of job once
PAINTINGS = ("starry-night", "great-wave")
PLACEMENT = {"x": 40, "y": 60, "height": 240}
QUEUES = ("segment", "composite", *(f"stylize.{painting}" for painting in PAINTINGS))
POLL_INTERVAL = 0.25
MAX_GROWTH_BYTES = 24 * 2**20  # per worker service, after the warm-up to after the load (seen: 0-1 MiB)


@dataclass(frozen=True)
class Outcome:
    job_id: str
    key: str
    kind: tuple[int, int]  # which portrait, which painting
    seconds: float  # from POST to the first poll that saw it succeeded


@dataclass(frozen=True)
class LoadStack:
    base_url: str
    broker: Broker
    keys: tuple[str, ...]
    workers: dict[str, Spawned]


@pytest.fixture(scope="module")
def load_stack(module_spawn: Spawn, redis_url: str, broker: BrokerChoice) -> Iterator[LoadStack]:
    urls = broker.env(redis_url, 9)
    redis.Redis.from_url(urls["SITTER_REDIS_URL"]).flushdb()
    keys = tuple(f"load-client-{number}" for number in range(CLIENTS))
    port = free_port()
    env = {
        **urls,
        "SITTER_PORT": str(port),
        "SITTER_INFERENCE_THREADS": "1",
        "SITTER_MAX_WORKING_SIZE": "512",
        "SITTER_API_KEYS": ",".join(keys),
        "SITTER_MAX_ACTIVE_JOBS_PER_KEY": str(JOBS),  # every client may have all its jobs in flight
        "SITTER_LOG_LEVEL": "INFO",  # workers say they are ready at INFO
    }
    workers = start_workers(module_spawn, env, ",".join(PAINTINGS))
    gateway = start_gateway(module_spawn, env)
    settings = Settings(redis_url=urls["SITTER_REDIS_URL"], broker_url=urls.get("SITTER_BROKER_URL", ""))
    yield LoadStack(f"http://127.0.0.1:{port}", broker_for(settings), keys, workers)
    for item in (gateway, *workers.values()):  # before the next broker's stack starts
        item.stop()


def _resident_bytes(group: int) -> int:
    """Resident memory of every process in a process group (a Celery worker and its pool processes)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:  # field 5 of /proc/PID/stat, the process group
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")  # field 24, resident pages
        except (OSError, IndexError, ValueError):  # a process that ended while we looked
            continue
    return total


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _portraits(portrait_jpeg: bytes) -> tuple[bytes, bytes]:
    mirrored = io.BytesIO()
    Image.open(io.BytesIO(portrait_jpeg)).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored, "JPEG")
    return portrait_jpeg, mirrored.getvalue()


def _run_client(
    stack: LoadStack, key: str, kinds: list[tuple[int, int]], portraits: tuple[bytes, bytes]
) -> list[Outcome]:
    """Submit every job of this client at once, then poll them all until each has ended."""
    client = SitterClient(stack.base_url, api_key=key)
    started: dict[str, tuple[tuple[int, int], float]] = {}
    for kind in kinds:
        job = client.submit(portraits[kind[0]], painting=PAINTINGS[kind[1]], **PLACEMENT)
        started[job.id] = (kind, time.monotonic())
    done: list[Outcome] = []
    while started:
        for job_id in list(started):
            job = client.job(job_id)
            if job.done:
                assert job.status == "succeeded", (job_id, job.error)
                kind, began = started.pop(job_id)
                done.append(Outcome(job_id, key, kind, time.monotonic() - began))
        time.sleep(POLL_INTERVAL)
    return done


def _queue_depth(broker: Broker) -> int:
    return sum(broker.depths(QUEUES))


@pytest.mark.parametrize("broker", BROKERS, indirect=True)
def test_a_burst_of_jobs_from_many_clients_all_finish_correctly(
    load_stack: LoadStack, broker: BrokerChoice, portrait_jpeg: bytes
) -> None:
    portraits = _portraits(portrait_jpeg)
    queues = load_stack.broker
    warm_client = SitterClient(load_stack.base_url, api_key=load_stack.keys[0])
    scrape = {"Authorization": f"Bearer {load_stack.keys[0]}"}  # /metrics needs a key when keys are set
    for index in range(WARMUP_JOBS):
        job = warm_client.submit(portraits[index % 2], painting=PAINTINGS[index // 2 % 2], **PLACEMENT)
        assert warm_client.wait(job.id, timeout=120, interval=0.05).status == "succeeded"
    memory_before = {name: _resident_bytes(item.process.pid) for name, item in load_stack.workers.items()}
    runs_before = stage_runs(requests.get(f"{load_stack.base_url}/metrics", headers=scrape, timeout=30).text)

    deepest = 0
    sampling = threading.Event()

    def sample_queues() -> None:
        nonlocal deepest
        while not sampling.wait(0.1):
            deepest = max(deepest, _queue_depth(queues))

    sampler = threading.Thread(target=sample_queues, daemon=True)
    sampler.start()
    plans = [
        [(index % 2, (index // CLIENTS) % 2) for index in range(c, JOBS, CLIENTS)] for c in range(CLIENTS)
    ]
    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        batches = pool.map(_run_client, [load_stack] * CLIENTS, load_stack.keys, plans, [portraits] * CLIENTS)
        outcomes = [item for batch in batches for item in batch]
    elapsed = time.monotonic() - started
    sampling.set()
    sampler.join()

    ids = [outcome.job_id for outcome in outcomes]
    assert len(ids) == JOBS == len(set(ids))  # none lost, none duplicated
    results: dict[tuple[int, int], list[np.ndarray]] = {}
    for outcome in outcomes:
        picture = _pixels(SitterClient(load_stack.base_url, api_key=outcome.key).result(outcome.job_id))
        results.setdefault(outcome.kind, []).append(picture)
    assert len(results) == 4, "the job mix covers both portraits on both paintings"
    references = {kind: pictures[0] for kind, pictures in results.items()}
    for kind, pictures in results.items():
        for picture in pictures:  # the same inputs give the same picture; other inputs a different one
            assert np.abs(picture - references[kind]).mean() < 1.0
            for other, reference in references.items():
                if other != kind and reference.shape == picture.shape:
                    assert np.abs(picture - reference).mean() > 1.0, "a job got another job's result"

    wait_for(lambda: _queue_depth(queues) == 0, 60, "the queues to drain")
    runs_after = stage_runs(requests.get(f"{load_stack.base_url}/metrics", headers=scrape, timeout=30).text)
    for stage in ("segment", "stylize", "composite"):  # a redelivered or duplicated task would count twice
        assert runs_after[stage] - runs_before.get(stage, 0.0) == JOBS, stage
    memory_after = {name: _resident_bytes(item.process.pid) for name, item in load_stack.workers.items()}

    latencies = sorted(outcome.seconds for outcome in outcomes)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    memory = ", ".join(
        f"{name} {memory_before[name] / 2**20:.0f}->{memory_after[name] / 2**20:.0f} MiB"
        for name in memory_before
    )
    rate = JOBS / elapsed * 60
    print(
        f"\nload on {broker.name}: {JOBS} jobs from {CLIENTS} clients in {elapsed:.1f} s = {rate:.1f} "
        f"jobs/min; end-to-end p50 {cuts[49]:.2f} s, p95 {cuts[94]:.2f} s, p99 {cuts[98]:.2f} s; "
        f"deepest queue {deepest}; worker memory after warm-up -> after load: {memory}"
    )
    for name, before in memory_before.items():
        assert memory_after[name] - before < MAX_GROWTH_BYTES, f"{name} grew: {memory}"
