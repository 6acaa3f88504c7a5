"""Every container command of the manifests and the compose file, run here: same module, same arguments.

Each runs with its container's environment (the broker, storage and S3 endpoint pointed at this test's
redis-server and moto S3) and with only its image's packages importable: the distributions outside the
image's extras are hidden, so a gateway that needed an ML library, or a worker that needed another
service's runtime, would fail here as it would in its container.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.utils import canonicalize_name

from k8s.render import render
from tests.helpers.deploy import (
    ROOT,
    consumed_queues,
    dockerfile_stages,
    exec_form,
    image_extras,
    lock,
    service_of,
)
from tests.helpers.kubernetes import by_kind, container_env
from tests.helpers.processes import Spawn, free_port, run_to_end, start_gateway
from tests.helpers.s3 import S3_CREDENTIALS
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow

K8S_OVERLAY = ROOT / "k8s" / "overlays" / "dev"
COMPOSE = ROOT / "docker-compose.yml"
ALWAYS_PRESENT = {"sitter", "pip", "setuptools"}  # a venv's own tools, and the project itself
DATABASE = 6  # conftest's Redis: databases 0-4 belong to other modules

Obj = dict[str, Any]


def hidden_modules(service: str) -> set[str]:
    """Top-level modules of every installed distribution that the service's image does not install."""
    present: set[str] = {canonicalize_name(req.name) for req in lock.requirements(image_extras(service))}
    present |= ALWAYS_PRESENT
    return {
        module
        for module, distributions in metadata.packages_distributions().items()
        if not any(canonicalize_name(name) in present for name in distributions)
    }


@pytest.fixture(scope="module")
def image_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Service -> a PYTHONPATH whose sitecustomize hides what that image lacks."""
    paths = {}
    for service in ("gateway", "segmenter", "stylizer", "compositor"):
        directory = tmp_path_factory.mktemp(f"image-{service}")
        (directory / "sitecustomize.py").write_text(
            "import sys\n"
            f"HIDDEN = {sorted(hidden_modules(service))!r}\n"
            "class NotInImage:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.partition('.')[0] in HIDDEN:\n"
            "            raise ModuleNotFoundError(f'No module named {name!r} (not in the image)')\n"
            "sys.meta_path.insert(0, NotInImage())\n"
        )
        paths[service] = os.pathsep.join([str(directory), str(ROOT)])
    return paths


@pytest.mark.parametrize(
    ("service", "absent", "present"),
    [
        ("gateway", ["onnxruntime", "cv2", "ai_edge_litert", "moto"], ["flask", "celery", "numpy", "boto3"]),
        ("segmenter", ["onnxruntime", "flask"], ["ai_edge_litert", "cv2", "celery"]),
        ("stylizer", ["flask", "h5py"], ["onnxruntime", "celery", "ai_edge_litert", "cv2"]),
    ],
)
def test_image_environment_hides_what_the_image_lacks(
    service: str, absent: list[str], present: list[str], image_paths: dict[str, str]
) -> None:
    env = {**os.environ, "PYTHONPATH": image_paths[service]}
    for module in present:
        assert subprocess.run([sys.executable, "-c", f"import {module}"], env=env).returncode == 0, module
    for module in absent:
        result = subprocess.run(
            [sys.executable, "-c", f"import {module}"], env=env, capture_output=True, text=True
        )
        assert "not in the image" in result.stderr, module


def k8s_containers() -> list[tuple[str, list[str], dict[str, str]]]:
    objects = render(K8S_OVERLAY)
    return [
        (f"k8s-{name}", container["command"], container_env(objects, container))
        for name, deployment in by_kind(objects, "Deployment").items()
        for container in deployment["spec"]["template"]["spec"]["containers"]
        if container["name"] != "front"  # nginx: tests/test_front.py runs it
    ]


def compose_containers() -> list[tuple[str, list[str], dict[str, str]]]:
    from tests.helpers.compose import interpolate

    services = interpolate(yaml.safe_load(COMPOSE.read_text()))["services"]
    return [
        (f"compose-{name}", service["command"], {k: str(v) for k, v in service["environment"].items()})
        for name, service in services.items()
        # nginx: tests/test_front.py; the pod only holds a namespace (tests/test_containers.py runs both)
        if "build" in service and service["build"]["target"] != "front" and name != "pod"
    ]


CONTAINERS = k8s_containers() + compose_containers()
WORKERS = [item for item in CONTAINERS if service_of(item[1]) != "gateway"]
GATEWAYS = [item for item in CONTAINERS if service_of(item[1]) == "gateway"]


@pytest.fixture(scope="module")
def local(redis_url: str, s3_endpoint: str) -> dict[str, str]:
    """Where this test's Redis and S3 are, to stand in for the cluster's and compose's."""
    return {"redis": redis_url.rsplit("/", 1)[0] + f"/{DATABASE}", "s3": s3_endpoint}


def localised(env: dict[str, str], local: dict[str, str], pythonpath: str) -> dict[str, str]:
    """The container's environment with its hosts swapped for local ones; nothing else of ours leaks in."""
    values = dict(env)
    for key in ("SITTER_REDIS_URL", "SITTER_BROKER_URL", "SITTER_RESULT_BACKEND", "SITTER_BLOB_REDIS_URL"):
        if key in values:
            values[key] = local["redis"]
    if values.get("SITTER_S3_ENDPOINT_URL") or values.get("SITTER_STORAGE") == "s3":
        values["SITTER_S3_ENDPOINT_URL"] = local["s3"]
        values.update(S3_CREDENTIALS)
    base = {key: value for key, value in os.environ.items() if not key.startswith(("SITTER_", "AWS_"))}
    return {**base, **values, "PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1"}


def executable(command: list[str]) -> list[str]:
    """The container's argv with its programs taken from this virtualenv."""
    program = sys.executable if command[0] == "python" else str(Path(sys.executable).parent / command[0])
    return [program, *command[1:]]


def get(url: str) -> int:
    """The status, or 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


@pytest.fixture
def gateway_process(
    request: pytest.FixtureRequest, local: dict[str, str], image_paths: dict[str, str], tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    name, command, env = request.param
    port = free_port()
    argv = executable(command)
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    log = tmp_path / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            argv,
            cwd=tmp_path,  # like the image's empty /app: the code must come from the install
            env=localised(env, local, image_paths["gateway"]),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield f"http://127.0.0.1:{port}", process, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.mark.parametrize("gateway_process", GATEWAYS, ids=[item[0] for item in GATEWAYS], indirect=True)
def test_gateway_command_serves_probes_and_stops_gracefully(
    gateway_process: tuple[str, subprocess.Popen[bytes], Path], image_paths: dict[str, str]
) -> None:
    base, process, log = gateway_process

    def up() -> bool:
        assert process.poll() is None, log.read_text()[-3000:]
        return get(f"{base}/healthz") == 200

    wait_for(up, 30, "the gateway to answer /healthz", interval=0.2)
    assert get(f"{base}/readyz") == 200, log.read_text()[-3000:]
    assert get(f"{base}/metrics") == 401  # keys are set in every deployment: the scrape needs one
    assert get(f"{base}/") == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(35) == 0, log.read_text()[-3000:]


IMAGE_GATEWAY = ("image-gateway", exec_form("gateway", "CMD"), {"SITTER_REDIS_URL": "redis://redis:6379/0"})


@pytest.mark.parametrize(
    ("name", "command", "env"),
    [*GATEWAYS, IMAGE_GATEWAY],
    ids=[item[0] for item in [*GATEWAYS, IMAGE_GATEWAY]],
)
def test_gateway_command_without_api_keys_refuses_to_start(
    name: str,
    command: list[str],
    env: dict[str, str],
    local: dict[str, str],
    image_paths: dict[str, str],
    tmp_path: Path,
) -> None:
    """A deployment that forgot its keys: on the command's own address (a free port), and behind its front
    on all interfaces where it has one, the gateway stops at start with the reason, rather than run and
    serve jobs to nobody outside it."""
    argv = executable(command)
    host, _, _ = argv[argv.index("--bind") + 1].rpartition(":")
    front_host = env.get("SITTER_FRONT_LISTEN", "").rpartition(":")[0]
    assert "0.0.0.0" in (host, front_host), name
    argv[argv.index("--bind") + 1] = f"{host}:{free_port()}"
    keyless = {key: value for key, value in env.items() if key != "SITTER_API_KEYS"}
    result = run_to_end(argv, localised(keyless, local, image_paths["gateway"]), cwd=tmp_path, timeout=60)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "REFUSING TO START: SITTER_API_KEYS is not set" in result.stderr
    assert "Booting worker" not in result.stderr  # nothing ever served


def test_gateway_image_health_check_command_passes_against_a_live_gateway(
    spawn: Spawn, local: dict[str, str], image_paths: dict[str, str]
) -> None:
    """The Dockerfile's HEALTHCHECK, run as written (its port moved to a free one)."""
    port = free_port()
    env = localised(
        {"SITTER_REDIS_URL": local["redis"], "SITTER_PORT": str(port)}, local, image_paths["gateway"]
    )
    start_gateway(spawn, env)
    (line,) = [text for text in dockerfile_stages()["gateway"] if text.startswith("HEALTHCHECK ")]
    check = yaml.safe_load(line.split(" CMD ", 1)[1].replace(":8000/", f":{port}/"))
    assert subprocess.run(executable(check), env=env, timeout=30).returncode == 0


@pytest.mark.parametrize(("name", "command", "env"), WORKERS, ids=[item[0] for item in WORKERS])
def test_worker_command_check_passes(
    name: str,
    command: list[str],
    env: dict[str, str],
    local: dict[str, str],
    image_paths: dict[str, str],
    tmp_path: Path,
) -> None:
    service = service_of(command)
    environment = localised(env, local, image_paths[service])
    if environment.get("SITTER_STORAGE") == "s3":
        _create_bucket(environment)  # in compose the gateway and the workers' start-up create it
    result = run_to_end([*executable(command), "--check"], environment, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"ok: {service} ")
    assert result.stdout.strip().endswith(", ".join(consumed_queues(command)))


def _create_bucket(env: dict[str, str]) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=env["SITTER_S3_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    bucket = env.get("SITTER_S3_BUCKET", "sitter")
    if bucket not in {item["Name"] for item in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=bucket)


def test_worker_check_fails_when_the_broker_is_unreachable(
    local: dict[str, str], image_paths: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    name, command, env = next(item for item in WORKERS if service_of(item[1]) == "compositor")
    environment = {**localised(env, local, image_paths["compositor"]), "SITTER_REDIS_URL": dead}
    result = run_to_end([*executable(command), "--check"], environment, cwd=tmp_path, timeout=60)
    assert result.returncode == 1, name
    assert "cannot start" in result.stdout + result.stderr


CORES = {"segmenter": "services.segmenter.matting", "stylizer": "services.stylizer.stylizer"}
WARM = [
    next(item for item in WORKERS if item[0] == name)
    for name in ("k8s-compositor", "k8s-segmenter", "k8s-stylizer-starry-night")
]


@pytest.mark.parametrize(("name", "command", "env"), WARM, ids=[item[0] for item in WARM])
def test_worker_command_starts_and_shuts_down_warm_on_sigterm(
    name: str,
    command: list[str],
    env: dict[str, str],
    local: dict[str, str],
    image_paths: dict[str, str],
    spawn: Spawn,
) -> None:
    """The Deployment's command starts a worker; SIGTERM (what Kubernetes sends) ends it with exit 0."""
    core = CORES.get(service_of(command))
    if core is not None and importlib.util.find_spec(core) is None:
        pytest.skip(f"{core} (the inference core the worker loads) is not in the tree yet")
    environment = localised(env, local, image_paths[service_of(command)])
    worker = spawn(executable(command), environment, ready=" ready.", timeout=120, name=name)
    started = worker.log()
    assert "Traceback" not in started, started[-3000:]
    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(60) == 0, worker.log()[-3000:]
