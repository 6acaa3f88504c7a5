"""`make bench-service`: the cost of the distributed system over the in-process pipeline.

Starts a private stack (redis-server, the gateway, one worker process per service), sends the 600x800
benchmark portrait through the REST API and reports:
- latency: N jobs one at a time; p50/p95 per stage (worker-side) and end to end (client-side, from the
  POST to the moment the poll sees `succeeded`), against the in-process pipeline doing the same work
  (decode, segment, stylize, composite, encode);
- throughput: a burst of jobs with 1 and with 2 worker processes per service, in jobs/min.
Not a test: numbers depend on the machine. Run it on an otherwise idle host.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import requests
from PIL import Image

from shared.gallery import load_painting
from shared.imageio import decode_image, encode_image
from shared.settings import model_store
from sitter.bench import bench_portrait
from sitter.stack import ROOT, free_port, private_redis

STAGES = ("segment", "stylize", "composite")
POLL_INTERVAL = 0.01


@dataclass
class Percentiles:
    p50_ms: float
    p95_ms: float

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> Percentiles:
        ordered = sorted(samples_ms)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        return cls(round(statistics.median(ordered), 1), round(p95, 1))


def portrait_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(bench_portrait()).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


@contextmanager
def stack(redis_url: str, processes: int, threads: int, style_id: str, burst: int) -> Iterator[str]:
    """Gateway + one worker per service, each with `processes` pool processes; yields the API base URL."""
    port = free_port()
    env = {
        **os.environ,
        "SITTER_REDIS_URL": redis_url,
        "SITTER_PORT": str(port),
        "SITTER_WORKER_CONCURRENCY": str(processes),
        "SITTER_INFERENCE_THREADS": str(threads),
        "SITTER_LOG_LEVEL": "WARNING",
        "SITTER_MAX_ACTIVE_JOBS_PER_KEY": str(burst),  # the whole burst comes from this one client
    }
    commands = [
        ["-m", "gateway"],
        ["-m", "services.segmenter.worker"],
        ["-m", "services.stylizer.worker", "--styles", style_id],
        ["-m", "services.compositor.worker"],
    ]
    children = [
        subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for args in commands
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or any(child.poll() is not None for child in children):
                raise SystemExit("the stack did not start; run `make up` to see its logs")
            time.sleep(0.1)
        yield base
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(30)


def submit(base: str, portrait: bytes, painting: str, style: str) -> str:
    files = {"portrait": ("portrait.jpg", portrait, "image/jpeg")}
    response = requests.post(
        f"{base}/v1/jobs", files=files, data={"painting": painting, "style": style}, timeout=30
    )
    response.raise_for_status()
    return str(response.json()["id"])


def wait(base: str, job_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        document: dict[str, Any] = requests.get(f"{base}/v1/jobs/{job_id}", timeout=10).json()
        if document["status"] in ("succeeded", "failed", "canceled"):
            if document["status"] != "succeeded":
                raise SystemExit(f"job {job_id} {document['status']}: {document['error']}")
            return document
        time.sleep(POLL_INTERVAL)
    raise SystemExit(f"job {job_id} did not finish in {timeout} s")


def latency(base: str, portrait: bytes, painting: str, style: str, jobs: int) -> dict[str, Percentiles]:
    """Jobs one at a time (after one warm-up): client-side end-to-end and worker-side stage times."""
    wait(base, submit(base, portrait, painting, style))
    samples: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "end_to_end", "queueing")}
    for _ in range(jobs):
        start = time.perf_counter()
        document = wait(base, submit(base, portrait, painting, style))
        total = (time.perf_counter() - start) * 1000
        samples["end_to_end"].append(total)
        stage_ms = {stage: float(document["stages"][stage]["duration_ms"]) for stage in STAGES}
        for stage, value in stage_ms.items():
            samples[stage].append(value)
        # the critical path is the slower header task, then the body
        samples["queueing"].append(
            total - max(stage_ms["segment"], stage_ms["stylize"]) - stage_ms["composite"]
        )
    return {name: Percentiles.of(values) for name, values in samples.items()}


def throughput(base: str, portrait: bytes, painting: str, style: str, jobs: int) -> float:
    """Jobs per minute for a burst of `jobs` submitted at once."""
    start = time.perf_counter()
    ids = [submit(base, portrait, painting, style) for _ in range(jobs)]
    for job_id in ids:
        wait(base, job_id)
    return round(jobs / (time.perf_counter() - start) * 60, 1)


def in_process(portrait: bytes, painting: str, style: str, jobs: int, threads: int) -> Percentiles:
    """The same work without services: decode, blend with warm models, encode the PNG."""
    from sitter.pipeline import BlendOptions, Pipeline

    pipeline = Pipeline(model_store(), threads=threads)
    painting_rgb = load_painting(painting)

    def once() -> float:
        start = time.perf_counter()
        result = pipeline.blend(decode_image(portrait), painting_rgb, options=BlendOptions(style=style))
        encode_image(result.image, "png")
        return (time.perf_counter() - start) * 1000

    once()
    return Percentiles.of([once() for _ in range(jobs)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sitter bench-service", description=__doc__)
    parser.add_argument("--jobs", type=int, default=10, help="jobs per latency run (default 10)")
    parser.add_argument("--burst", type=int, default=8, help="jobs per throughput burst (default 8)")
    parser.add_argument("--painting", default="starry-night")
    parser.add_argument("--style", default="painting", help="`painting` (its own style) or builtin-N")
    parser.add_argument(
        "--processes", default="1,2", help="worker processes per service to try (default 1,2)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    style_id = args.painting if args.style == "painting" else args.style
    portrait = portrait_jpeg()

    cores = os.cpu_count() or 1
    report: dict[str, Any] = {
        "input": "600x800 JPEG (sitter.bench.bench_portrait)",
        "painting": args.painting,
        "style": style_id,
        "jobs": args.jobs,
        "cores": cores,
        "load_average_before": round(os.getloadavg()[0], 2),  # a busy host skews every figure
    }
    report["in_process"] = asdict(in_process(portrait, args.painting, args.style, args.jobs, cores))
    report["service"] = {}
    with private_redis() as redis_url:
        for count in (int(item) for item in args.processes.split(",")):
            threads = max(1, cores // count)  # each process's inference threads: never more than the cores
            with stack(redis_url, count, threads, style_id, args.burst) as base:
                entry: dict[str, Any] = {"inference_threads": threads}
                if count == 1:
                    entry["latency"] = {
                        name: asdict(value)
                        for name, value in latency(
                            base, portrait, args.painting, args.style, args.jobs
                        ).items()
                    }
                entry["throughput_jobs_per_min"] = throughput(
                    base, portrait, args.painting, args.style, args.burst
                )
                report["service"][f"{count}_process"] = entry
    one = report["service"].get("1_process", {}).get("latency")
    if one:
        report["overhead_p50_ms"] = round(one["end_to_end"]["p50_ms"] - report["in_process"]["p50_ms"], 1)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    return 0


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"bench-service: {report['input']}, painting {report['painting']}, style {report['style']}, "
        f"{report['jobs']} jobs; {report['cores']} cores, load before {report['load_average_before']}",
        f"  in-process pipeline           p50 {report['in_process']['p50_ms']:8.1f} ms"
        f"   p95 {report['in_process']['p95_ms']:8.1f} ms",
    ]
    one = report["service"].get("1_process", {}).get("latency", {})
    for name, value in one.items():
        lines.append(f"  service {name:<22}p50 {value['p50_ms']:8.1f} ms   p95 {value['p95_ms']:8.1f} ms")
    if "overhead_p50_ms" in report:
        lines.append(f"  overhead over in-process (p50): {report['overhead_p50_ms']:.1f} ms")
    for name, entry in report["service"].items():
        lines.append(
            f"  throughput, {name.replace('_', ' ')} per service: {entry['throughput_jobs_per_min']} jobs/min"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
