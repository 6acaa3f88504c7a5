"""What an operator deploys, built and run: every image of the Dockerfile, docker-compose.yml brought up
by `make compose-up`'s script, and jobs sent through the published port as a client sends them.

Where no container registry answers (this machine, CI) the script builds stand-in bases from Debian and
adds docker/offline/compose.offline.yml (moto in MinIO's place); tests/containers/compose.timing.yml only
shortens the task limits so that a killed worker's task comes back from Redis within a minute. Each worker
runs under the memory limit its compose service declares, the k8s one. dockerd is started (and Docker
installed, as root on Debian) when missing; every container, network and volume is removed at the end,
also when a test fails. Slow (a cold build takes several minutes; cached ones seconds).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator

import numpy as np
import pytest
import requests
import yaml
from PIL import Image

from sitter.client import ApiError, Job, JobFailedError, SitterClient
from tests.helpers.compose_stack import ROOT, ComposeStack, run
from tests.helpers.processes import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]  # a cold build is part of the first test

PORTRAIT = (ROOT / "shared" / "data" / "samples" / "obama-portrait.jpg").read_bytes()
SCREAM = (ROOT / "tests" / "data" / "gallery" / "the-scream.jpg").read_bytes()  # not a bundled painting
WORKERS = ("segmenter", "compositor", "stylizer-gallery", "stylizer-builtin")
JOBS = {  # style -> the worker service whose queue serves it
    "starry-night": "stylizer-gallery",  # the gallery painting's own style
    "builtin-3": "stylizer-builtin",
    "trained-starry-night": "stylizer-gallery",
}


def k8s_limits() -> dict[str, int]:
    """Each worker group's memory limit in bytes, from k8s/workers.yaml (the deployment's one list)."""
    units = {"Mi": 2**20, "Gi": 2**30}
    limits = {}
    for group in yaml.safe_load((ROOT / "k8s" / "workers.yaml").read_text())["workers"]:
        text = str(group["memoryLimit"])
        limits[str(group["name"])] = int(float(text[:-2]) * units[text[-2:]])
    return limits


def cgroup_memory(stack: ComposeStack, service: str) -> tuple[int, int]:
    """The memory limit the kernel enforces on the service's container and its peak usage so far, read
    inside it (cgroup v2's files, else v1's)."""
    script = (
        "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.peak 2>/dev/null || "
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.max_usage_in_bytes"
    )
    out = run(["docker", "exec", stack.container(service), "sh", "-c", script], stack.env).split()
    assert len(out) == 2 and all(word.isdigit() for word in out), out
    return int(out[0]), int(out[1])


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    subprocess.run(["sh", "docker/engine.sh"], cwd=ROOT, check=True, timeout=600)
    stack = ComposeStack(
        project=f"sitter-test-{uuid.uuid4().hex[:8]}", http_port=free_port(), api_key="ci-key"
    )
    try:
        started = time.monotonic()
        print(stack.script("up"))
        print(f"compose up (build included) took {time.monotonic() - started:.0f} s")
        yield stack
    finally:
        for logs_of in WORKERS:
            print(
                run(
                    ["docker", "compose", "-p", stack.project, "logs", "--tail", "20", logs_of],
                    stack.env,
                    check=False,
                )
            )
        stack.script("down")
        assert stack.leftovers() == []


@pytest.fixture(scope="module")
def client(stack: ComposeStack) -> SitterClient:
    return SitterClient(stack.url, stack.api_key, timeout=30)


def finished_picture(
    client: SitterClient, job_id: str, timeout: float = 240
) -> tuple[Job, bytes, Image.Image]:
    """The finished job's document, its downloaded result and that result decoded (in its stated format)."""
    job = client.wait(job_id, timeout=timeout)
    data = client.result(job_id)
    picture = Image.open(io.BytesIO(data))
    picture.load()
    assert job.result is not None and picture.format == str(job.result["format"]).upper().replace(
        "JPG", "JPEG"
    )
    return job, data, picture


def check_job(client: SitterClient, style: str) -> tuple[Job, bytes]:
    """A job in `style` on The Starry Night, downloaded: the painting's size, and the person there."""
    painting = client.painting("starry-night")
    started = time.monotonic()
    job = client.submit(PORTRAIT, painting="starry-night", style=style, format="png")
    done, data, picture = finished_picture(client, job.id)
    print(f"job in style {style}: {time.monotonic() - started:.2f} s from submission to the finished picture")
    assert picture.size == (painting["width"], painting["height"])
    original = np.asarray(
        Image.open(io.BytesIO(requests.get(client.base_url + painting["image"], timeout=30).content)).convert(
            "RGB"
        )
    )
    changed = np.abs(np.asarray(picture.convert("RGB")).astype(int) - original).sum(axis=2) > 30
    assert 0.01 < changed.mean() < 0.6, f"{style}: {changed.mean():.3f} of the painting changed"
    return done, data


def test_every_worker_runs_under_its_declared_memory_limit(stack: ComposeStack) -> None:
    limits = k8s_limits()
    for service in WORKERS:
        state = stack.inspect(service)
        declared = state["HostConfig"]["Memory"]  # type: ignore[index]
        assert declared == limits[service], f"{service}: {declared} in compose, {limits[service]} in k8s"
        limit, _ = cgroup_memory(stack, service)
        assert limit == declared, f"{service}: the kernel enforces {limit}"
        health = state["State"]["Health"]["Status"]  # type: ignore[index]
        assert health == "healthy", service


def test_gallery_builtin_and_trained_style_jobs_through_the_published_port(
    stack: ComposeStack, client: SitterClient
) -> None:
    for style, service in JOBS.items():
        job, _ = check_job(client, style)
        assert job.stages["stylize"]["queue"] == f"stylize.{style}"
        served = job.stages["stylize"]["worker"]  # celery's name: <service>@<hostname>
        assert served.endswith("@" + stack.container(service)[:12]), (style, served, service)


def test_the_web_page_and_every_module_it_imports_load(stack: ComposeStack) -> None:
    page = requests.get(stack.url + "/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    todo = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    seen: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        answer = requests.get(stack.url + path, timeout=10)
        assert answer.status_code == 200, path
        if path.endswith(".js"):
            todo += [f"/static/{name}" for name in re.findall(r'from "\./([\w.-]+\.js)"', answer.text)]
            todo += [f"/static/{name}" for name in re.findall(r'import\("\./([\w.-]+\.js)"\)', answer.text)]
    assert "/static/app.js" in seen and len([path for path in seen if path.endswith(".js")]) > 10


def _big_jpeg(source: bytes, size: tuple[int, int]) -> bytes:
    with Image.open(io.BytesIO(source)) as image:
        big = image.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    big.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _grey_16bit_png(side: int) -> bytes:
    ramp = np.linspace(0, 65535, side, dtype=np.float64).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(np.broadcast_to(ramp, (side, side)).copy()).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_heaviest_probes_fit_the_containers_declared_memory(
    stack: ComposeStack, client: SitterClient
) -> None:
    """The memory issue's probes through the published port: a 40 MP JPEG portrait in a box filling a
    3160x3160 upload's 2x result (once +6.2 GB in the compositor) and a 16-bit 6324x6324 PNG (once +3.8 GB
    in the segmenter). Each is refused up front or ends (succeeded, or failed with its own code), and no
    worker container is OOM-killed or restarted: its cgroup's peak stays under its declared limit."""
    painting = Image.open(
        io.BytesIO(
            requests.get(client.base_url + client.painting("starry-night")["image"], timeout=30).content
        )
    )
    buffer = io.BytesIO()
    painting.convert("RGB").resize((3160, 3160)).save(buffer, "JPEG", quality=90)
    big = client.submit(
        _big_jpeg(PORTRAIT, (5475, 7300)),
        painting_file=buffer.getvalue(),
        x=-4000,
        y=-4000,
        height=12640,
        output_scale=2,
        style="starry-night",
        format="jpg",
    )
    grey = client.submit(_grey_16bit_png(6324), painting="starry-night")
    done = client.wait(big.id, timeout=600)
    assert done.result is not None and done.result["width"] == 6320
    try:
        client.wait(grey.id, timeout=300)
        pytest.fail("a grey ramp has no person")
    except JobFailedError as failed:
        assert failed.job.error is not None and failed.job.error["code"] == "no-person"
    for service in WORKERS:
        state = stack.inspect(service)
        assert state["State"]["OOMKilled"] is False and state["RestartCount"] == 0, service  # type: ignore[index]
        limit, peak = cgroup_memory(stack, service)
        print(f"{service}: cgroup peak {peak / 2**20:.0f} MiB of {limit / 2**20:.0f} MiB")
        assert peak < limit, service


def test_a_worker_killed_mid_stage_finishes_the_job_once_it_is_back(
    stack: ComposeStack, client: SitterClient
) -> None:
    victim = stack.container("stylizer-gallery")
    for _ in range(5):
        job = client.submit(PORTRAIT, painting="starry-night", output_scale=2, format="png")
        deadline = time.monotonic() + 120
        while client.job(job.id).stages.get("stylize", {}).get("state") != "running":
            assert time.monotonic() < deadline, "stylize never started"
            time.sleep(0.02)
        run(["docker", "pause", victim], stack.env)
        if client.job(job.id).stages["stylize"]["state"] == "running":
            break
        run(["docker", "unpause", victim], stack.env)
    else:
        pytest.fail("the stylize stage always ended before the worker could be frozen")
    run(["docker", "kill", victim], stack.env)  # SIGKILL, mid-stage
    time.sleep(2)
    assert client.job(job.id).status == "running"
    stack.compose("start", "stylizer-gallery")
    _, _, picture = finished_picture(client, job.id, timeout=300)
    assert picture.size[0] > 1000  # output_scale 2


def test_restarting_front_or_gateway_keeps_the_api_answering(
    stack: ComposeStack, client: SitterClient
) -> None:
    for service in ("front", "gateway"):
        stack.compose("restart", service)
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(stack.url + "/readyz", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"the API does not answer after `restart {service}`"
            time.sleep(1)
        assert client.paintings(), service


def _analysed(client: SitterClient, painting_id: str, timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while (item := client.painting(painting_id))["analysis"] == "pending":
        assert time.monotonic() < deadline, f"{painting_id} not analysed within {timeout} s"
        time.sleep(1)
    return item


def test_an_admin_adds_a_painting_that_jobs_then_use(stack: ComposeStack, client: SitterClient) -> None:
    """Issue 25 in the containers: the gateway stores it (MinIO), the gallery stylizer analyses it."""
    admin = SitterClient(stack.url, stack.admin_key, timeout=30)
    fields = {"title": "The Scream", "artist": "Edvard Munch", "year": "1893", "licence": "public domain"}
    with pytest.raises(ApiError) as refused:
        client.add_painting(SCREAM, "the-scream", **fields)
    assert refused.value.status == 403 and refused.value.code == "admin-required"
    with pytest.raises(ApiError) as not_image:
        admin.add_painting(b"not an image at all", "the-scream", **fields)
    assert not_image.value.status == 422
    started = time.monotonic()
    assert admin.add_painting(SCREAM, "the-scream", **fields)["analysis"] == "pending"
    item = _analysed(client, "the-scream", 60)
    print(f"an added painting analysed in the stack in {time.monotonic() - started:.1f} s")
    assert item["analysis"] == "ready" and item["spots"], item
    job = client.submit(PORTRAIT, painting="the-scream", format="png")
    done, _, picture = finished_picture(client, job.id)
    assert picture.size == (1200, 1528) and done.result is not None
    assert done.result["painting"]["licence"] == "public domain"
    assert done.stages["stylize"]["queue"] == "stylize.gallery"


def test_down_then_up_keeps_job_records_images_and_added_paintings(
    stack: ComposeStack, client: SitterClient
) -> None:
    job, picture = check_job(client, "starry-night")
    stack.compose("down")  # containers and networks go; the volumes stay
    stack.script("up")
    assert client.job(job.id).status == "succeeded"
    assert client.result(job.id) == picture
    assert client.painting("the-scream")["analysis"] == "ready"  # record in Redis, files in MinIO
    again = client.submit(PORTRAIT, painting="the-scream", format="png")
    assert finished_picture(client, again.id)[0].status == "succeeded"
    SitterClient(stack.url, stack.admin_key).remove_painting("the-scream")
    with pytest.raises(ApiError) as gone:
        client.submit(PORTRAIT, painting="the-scream")
    assert gone.value.status == 422 and gone.value.code == "unknown-painting"


@pytest.fixture(scope="module")
def rabbitmq_stack(stack: ComposeStack) -> Iterator[ComposeStack]:
    """The same project on the `rabbitmq` profile, after the Redis one is down (volumes and all)."""
    stack.script("down")
    rabbit = ComposeStack(
        project=stack.project,
        http_port=stack.http_port,
        api_key=stack.api_key,
        extra_env={
            "COMPOSE_PROFILES": "rabbitmq",
            "SITTER_BROKER_URL": "amqp://sitter:sitter-dev-password@rabbitmq:5672/%2F",
        },
    )
    rabbit.script("up")
    yield rabbit


def test_the_rabbitmq_profile_runs_the_same_jobs(rabbitmq_stack: ComposeStack) -> None:
    client = SitterClient(rabbitmq_stack.url, rabbitmq_stack.api_key, timeout=30)
    node = run(["docker", "exec", rabbitmq_stack.container("rabbitmq"), "hostname"], rabbitmq_stack.env)
    assert node.strip() == "rabbitmq"
    for style in JOBS:
        check_job(client, style)


def test_a_job_queued_in_rabbitmq_across_down_and_up_completes(rabbitmq_stack: ComposeStack) -> None:
    """No stylizer while the job is queued: it waits in RabbitMQ's quorum queue on the volume through
    `down`/`up` (a re-created container with the same node name), and completes once one is back."""
    client = SitterClient(rabbitmq_stack.url, rabbitmq_stack.api_key, timeout=30)
    rabbitmq_stack.compose("stop", "stylizer-gallery")
    job = client.submit(PORTRAIT, painting="starry-night", format="png")
    deadline = time.monotonic() + 120
    while client.job(job.id).stages["segment"]["state"] != "succeeded":
        assert time.monotonic() < deadline, "segment did not finish"
        time.sleep(0.5)
    assert client.job(job.id).stages["stylize"]["state"] == "pending"
    rabbitmq_stack.compose("down")
    rabbitmq_stack.script("up")
    finished_picture(client, job.id, timeout=300)


def test_the_legacy_builder_builds_a_target_pulling_nothing_but_its_base(stack: ComposeStack) -> None:
    """BuildKit built everything above; the classic builder must read the same Dockerfile (no `# syntax`
    frontend to pull), with the base and network the stack was built with."""
    config = json.loads(stack.compose("config", "--format", "json"))["services"]["gateway"]["build"]
    command = ["docker", "build", "-q", "--target", "gateway", "-t", f"{stack.project}-legacy"]
    command += [f"--build-arg={name}={value}" for name, value in config.get("args", {}).items()]
    command += ["--network", config["network"]] if config.get("network") else []
    started = time.monotonic()
    run([*command, "."], {**stack.env, "DOCKER_BUILDKIT": "0"}, timeout=1200)
    print(f"legacy builder, gateway target: {time.monotonic() - started:.0f} s")
    out = run(
        ["docker", "run", "--rm", "--entrypoint", "sitter", f"{stack.project}-legacy", "--help"], stack.env
    )
    assert "blend" in out
    run(["docker", "rmi", f"{stack.project}-legacy"], stack.env)
