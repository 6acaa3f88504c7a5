"""`make bench-service`: the cost of the distributed system over the in-process pipeline.

Starts a private stack (redis-server, the gateway, one worker process per service), sends the 600x800
benchmark portrait through the REST API with `SitterClient` (submit, then `wait` polling every 10 ms, so it
measures what a client does) and reports:
- latency: N jobs one at a time; p50/p95 per stage (worker-side) and end to end (client-side, from the
  POST to the moment the poll sees `succeeded`), against the in-process pipeline doing the same work
  (decode, segment, stylize, composite, encode);
- throughput: a burst of jobs with 1 and with 2 worker processes per service, in jobs/min;
- the same for a two-person job (the benchmark portrait and the bundled Grace Hopper portrait, also
  600x800, in one painting: a plan step, then both people's segment and stylize tasks in parallel, then
  one composite), beside the one-person job, and the in-process `blend_group` of the same two.
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
from sitter.client import Job, JobCanceledError, JobFailedError, SitterClient, WaitTimeoutError
from sitter.processes import dies_with_us, environment, stack_commands
from sitter.stack import ROOT, free_port, private_redis

STAGES = ("segment", "stylize", "composite")
SECOND_PORTRAIT = "grace-hopper.jpg"  # the two-person job's second person (shared/data/samples, PD)
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


def portrait_jpeg(name: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(bench_portrait(name) if name else bench_portrait()).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


@contextmanager
def stack(redis_url: str, processes: int, threads: int, style_id: str, burst: int) -> Iterator[str]:
    """Gateway + one worker per service, each with `processes` pool processes, and the preview consumer
    (one, as deployed); yields the API base URL."""
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
    children = [
        subprocess.Popen(
            dies_with_us(argv),
            cwd=ROOT,
            env=environment(name, env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, argv in stack_commands(styles=style_id).items()
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


def run_job(client: SitterClient, portraits: list[bytes], painting: str, style: str) -> Job:
    """Submit one job with one person per portrait and wait for it, as a client does."""
    return finish(client, submit(client, portraits, painting, style))


def submit(client: SitterClient, portraits: list[bytes], painting: str, style: str) -> str:
    return client.submit(tuple(portraits), painting=painting, style=style).id


def finish(client: SitterClient, job_id: str, timeout: float = 300) -> Job:
    """The job once it succeeded, polled every POLL_INTERVAL (no back-off: the end-to-end time is measured to
    the poll that sees `succeeded`); a failed, canceled or unfinished job ends the benchmark."""
    try:
        return client.wait(job_id, timeout=timeout, interval=POLL_INTERVAL, max_interval=POLL_INTERVAL)
    except (JobFailedError, JobCanceledError, WaitTimeoutError) as exc:
        raise SystemExit(str(exc)) from None


def latency(
    client: SitterClient, portraits: list[bytes], painting: str, style: str, jobs: int
) -> dict[str, Percentiles]:
    """Jobs one at a time (after one warm-up): client-side end-to-end and worker-side stage times.

    With several people `segment` and `stylize` span from the first person's start to the last one's end
    (the job document's sums), and there is a `plan` stage before them."""
    run_job(client, portraits, painting, style)
    stages = STAGES if len(portraits) == 1 else ("plan", *STAGES)
    samples: dict[str, list[float]] = {stage: [] for stage in (*stages, "end_to_end", "queueing")}
    for _ in range(jobs):
        start = time.perf_counter()
        job = run_job(client, portraits, painting, style)
        total = (time.perf_counter() - start) * 1000
        samples["end_to_end"].append(total)
        stage_ms = {stage: float(job.stages[stage]["duration_ms"]) for stage in stages}
        for stage, value in stage_ms.items():
            samples[stage].append(value)
        # the critical path is the plan (several people), the slower header task, then the body
        samples["queueing"].append(
            total
            - stage_ms.get("plan", 0.0)
            - max(stage_ms["segment"], stage_ms["stylize"])
            - stage_ms["composite"]
        )
    return {name: Percentiles.of(values) for name, values in samples.items()}


def throughput(client: SitterClient, portraits: list[bytes], painting: str, style: str, jobs: int) -> float:
    """Jobs per minute for a burst of `jobs` submitted at once."""
    start = time.perf_counter()
    ids = [submit(client, portraits, painting, style) for _ in range(jobs)]
    for job_id in ids:
        finish(client, job_id)
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


def in_process_group(
    portraits: list[bytes], painting: str, style: str, jobs: int, threads: int
) -> Percentiles:
    """The two-person work without services: decode both, `blend_group` with warm models, encode."""
    from sitter.pipeline import BlendOptions, Pipeline

    pipeline = Pipeline(threads=threads)
    painting_rgb = load_painting(painting)

    def once() -> float:
        start = time.perf_counter()
        photos = [decode_image(data) for data in portraits]
        # like `in_process`: the painting analysed in the call (once for both people), not the shipped one
        group = pipeline.blend_group(photos, painting_rgb, options=BlendOptions(style=style))
        encode_image(group.image, "png")
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
    two = [portrait, portrait_jpeg(SECOND_PORTRAIT)]
    kinds = {"one_person": [portrait], "two_people": two}

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
    report["in_process_two_people"] = asdict(
        in_process_group(two, args.painting, args.style, args.jobs, cores)
    )
    report["service"] = {}
    with private_redis() as redis_url:
        for count in (int(item) for item in args.processes.split(",")):
            threads = max(1, cores // count)  # each process's inference threads: never more than the cores
            with stack(redis_url, count, threads, style_id, args.burst) as base:
                client = SitterClient(base, timeout=30)
                entry: dict[str, Any] = {"inference_threads": threads}
                for kind, photos in kinds.items():
                    suffix = "" if kind == "one_person" else f"_{kind}"
                    if count == 1 or kind == "two_people":  # does a 2nd process run the people side by side
                        figures = latency(client, photos, args.painting, args.style, args.jobs)
                        entry[f"latency{suffix}"] = {name: asdict(value) for name, value in figures.items()}
                    entry[f"throughput{suffix}_jobs_per_min"] = throughput(
                        client, photos, args.painting, args.style, args.burst
                    )
                report["service"][f"{count}_process"] = entry
    one = report["service"].get("1_process", {}).get("latency")
    if one:
        report["overhead_p50_ms"] = round(one["end_to_end"]["p50_ms"] - report["in_process"]["p50_ms"], 1)
    two_latency = report["service"].get("1_process", {}).get("latency_two_people")
    if two_latency:
        in_process_two = report["in_process_two_people"]["p50_ms"]
        report["overhead_two_people_p50_ms"] = round(two_latency["end_to_end"]["p50_ms"] - in_process_two, 1)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    return 0


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"bench-service: {report['input']}, painting {report['painting']}, style {report['style']}, "
        f"{report['jobs']} jobs; {report['cores']} cores, load before {report['load_average_before']}",
        f"  in-process pipeline: one person {_cell(report['in_process'])}; "
        f"two people {_cell(report['in_process_two_people'])}",
    ]
    for count, service in report["service"].items():
        one, two = service.get("latency", {}), service.get("latency_two_people", {})
        lines.append(f"  latency, one job at a time, {count.replace('_', ' ')} per service:")
        lines.append(f"    {'':<26}{'one person':<34}two people")
        names = [name for name in ("plan", *STAGES, "end_to_end", "queueing") if name in one or name in two]
        for name in names:
            cells = [_cell(value) if value else " " * 30 for value in (one.get(name), two.get(name))]
            lines.append(f"    service {name:<18}{cells[0]}    {cells[1]}")
    if "overhead_p50_ms" in report:
        extra = report.get("overhead_two_people_p50_ms")
        two_text = f"; two people {extra:.1f} ms" if extra is not None else ""
        lines.append(
            f"  overhead over in-process (p50): one person {report['overhead_p50_ms']:.1f} ms{two_text}"
        )
    for name, entry in report["service"].items():
        one_rate = entry["throughput_jobs_per_min"]
        two_rate = entry.get("throughput_two_people_jobs_per_min")
        two_text = (
            f"; two-person jobs {two_rate} jobs/min ({2 * two_rate:.1f} people/min)" if two_rate else ""
        )
        where = name.replace("_", " ")
        lines.append(f"  throughput, {where} per service: one-person jobs {one_rate} jobs/min{two_text}")
    return "\n".join(lines)


def _cell(value: dict[str, float]) -> str:
    return f"p50 {value['p50_ms']:8.1f} ms  p95 {value['p95_ms']:8.1f} ms"


if __name__ == "__main__":
    sys.exit(main())
