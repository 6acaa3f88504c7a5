"""docker-compose.yml: valid against the Compose Specification schema and consistent with the code.

No Docker engine here, so the file is checked the way `docker compose config` would read it (variables
interpolated with their defaults, YAML merge keys resolved) and then cross-checked: entry points, build
targets, environment, health checks, start order, and that every queue has exactly one consumer.
"""

from __future__ import annotations

import json
import re
import subprocess
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft202012Validator

from gateway.params import max_request_bytes
from shared.queues import PREVIEW_SEGMENTER
from shared.settings import Settings
from tests.helpers.compose import COMPOSE, interpolate
from tests.helpers.deploy import (
    FRONT_COMMAND,
    ROOT,
    SEGMENTER_COMMANDS,
    bind_port,
    command_problems,
    consumed_queues,
    consumer_problems,
    dockerfile_stages,
    env_problems,
    exec_form_of,
    front_directives,
    front_port,
    front_upstream,
    gateway_paths,
    service_of,
    worker_styles,
    yaml_lint,
)

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def compose() -> Obj:
    document: Obj = interpolate(yaml.safe_load(COMPOSE.read_text()))
    return document


def sitter_services(compose: Obj) -> dict[str, Obj]:
    """The services that run Sitter's code, built from this repository's Dockerfile (the rest are stock
    images, the front: nginx with Sitter's config, and the pod, which only holds a network namespace)."""
    return {
        name: service
        for name, service in compose["services"].items()
        if "build" in service and service["build"]["target"] != "front" and name != "pod"
    }


def test_compose_file_is_valid_against_the_compose_specification(compose: Obj) -> None:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    validator = Draft202012Validator(json.loads(schema_file.read_text()))
    assert [f"{list(error.path)}: {error.message}" for error in validator.iter_errors(compose)] == []
    broken = {**compose, "services": {**compose["services"], "redis": {"image": 7, "restart": "sometimes"}}}
    assert len(list(validator.iter_errors(broken))) >= 2


def test_compose_file_passes_yamllint() -> None:
    assert yaml_lint([COMPOSE]) == []


def test_builds_commands_and_images_match_the_dockerfile(compose: Obj) -> None:
    stages = dockerfile_stages()
    services = sitter_services(compose)
    assert {service_of(service["command"]) for service in services.values()} == {
        "gateway",
        "segmenter",
        "stylizer",
        "compositor",
    }
    for name, service in services.items():
        assert command_problems(service["command"], name) == []
        target = service["build"]["target"]
        assert service["build"]["context"] == "."
        assert target == service_of(service["command"]), name
        assert target in stages and service["image"].startswith(f"sitter-{target}:"), name


def test_environment_is_complete_and_points_at_compose_services(compose: Obj) -> None:
    for name, service in sitter_services(compose).items():
        env = {key: str(value) for key, value in service["environment"].items()}
        assert env_problems(env, name) == []
        settings = Settings.from_env(env)
        for url in (settings.redis_url, settings.broker_url, settings.s3_endpoint_url):
            assert urlsplit(url).hostname in compose["services"], f"{name}: {url}"
        if settings.storage == "s3":
            minio = compose["services"]["minio"]["environment"]
            assert env["AWS_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
            assert env["AWS_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]
            assert urlsplit(settings.s3_endpoint_url).port == 9000


def test_health_checks_and_start_order(compose: Obj) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            if dependency == "pod":  # it has nothing to be healthy about: it exists or not
                assert (
                    condition["condition"] == "service_started" and service["network_mode"] == "service:pod"
                )
                continue
            assert condition["condition"] == "service_healthy", f"{name} -> {dependency}"
            assert "healthcheck" in services[dependency], f"{dependency} has no health check"
    for name, service in sitter_services(compose).items():
        assert {"redis", "minio"} <= set(service["depends_on"]), name
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD", name
        if service_of(service["command"]) == "gateway":
            bind = service["command"][service["command"].index("--bind") + 1]
            path = re.search(rf"http://{re.escape(bind)}(/\w+)", " ".join(test))
            assert path is not None and path.group(1) in gateway_paths(), name
        else:
            assert test[1:] == [*service["command"], "--check"], name


def test_only_the_front_is_published_and_it_alone_reaches_gunicorn(compose: Obj) -> None:
    """Slow clients must meet nginx, never gunicorn: the front listens on the published port, and gunicorn
    on loopback, where the front's upstream points, both in the namespace the pod holds (so that either
    restarts without cutting the other off: tests/test_containers.py restarts each)."""
    services = compose["services"]
    front, gateway, pod = services["front"], services["gateway"], services["pod"]
    assert front["build"]["target"] == "front" and front["build"]["context"] == "."
    assert front["image"].startswith("sitter-front:")
    assert front["command"] == FRONT_COMMAND == exec_form_of("front", "CMD")
    assert command_problems(front["command"], "front") == []
    assert [port.rpartition(":")[2] for port in pod["ports"]] == [str(front_port())]
    assert pod["image"] == gateway["image"] and pod["build"] == gateway["build"] and pod["init"] is True
    assert "ports" not in front and "ports" not in gateway
    assert gateway["command"][gateway["command"].index("--bind") + 1] == front_upstream()
    assert {
        name: service.get("network_mode") for name, service in services.items() if "network_mode" in service
    } == {
        "front": "service:pod",
        "gateway": "service:pod",
    }
    assert bind_port(gateway["environment"]["SITTER_FRONT_LISTEN"]) == front_port()
    assert front["read_only"] is True and front["tmpfs"] == ["/tmp"]
    check = " ".join(front["healthcheck"]["test"])
    path = re.search(rf"http://127\.0\.0\.1:{front_port()}(/\w+)", check)
    assert path is not None and path.group(1) in gateway_paths()


def test_front_admits_the_gateway_upload_limit(compose: Obj) -> None:
    env = {key: str(value) for key, value in compose["services"]["gateway"]["environment"].items()}
    (size,) = front_directives()["client_max_body_size"]
    assert size.endswith("m")
    assert int(size[:-1]) * 1024 * 1024 >= max_request_bytes(Settings.from_env(env))


def test_each_queue_has_one_consumer_and_two_stylizers_split_the_styles(compose: Obj) -> None:
    consumers: dict[str, list[str]] = {}
    stylizers = []
    for name, service in sitter_services(compose).items():
        command = service["command"]
        if service_of(command) == "gateway":
            continue
        if service_of(command) == "stylizer":
            stylizers.append(set(worker_styles(command)))
        for queue in consumed_queues(command):
            consumers.setdefault(queue, []).append(name)
    assert consumer_problems(consumers) == []
    assert len(stylizers) == 2 and not stylizers[0] & stylizers[1]


def test_the_segmenters_split_the_queues_as_sitter_up_runs_them(compose: Obj) -> None:
    """The segmenter on `segment`, the dedicated preview consumer on `preview` with one pool process: the
    commands `sitter up` runs, in the segmenter's image."""
    services = compose["services"]
    for name, command in SEGMENTER_COMMANDS.items():
        assert services[name]["command"] == command, name
        assert services[name]["healthcheck"]["test"] == ["CMD", *command, "--check"], name
    preview, segmenter = services[PREVIEW_SEGMENTER], services["segmenter"]
    assert (preview["build"], preview["image"]) == (segmenter["build"], segmenter["image"])
    env = {key: str(value) for key, value in preview["environment"].items()}
    assert Settings.from_env(env).worker_concurrency == 1


def test_persistence_shutdown_and_monitoring(compose: Obj) -> None:
    services = compose["services"]
    redis = services["redis"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    for name, service in sitter_services(compose).items():
        env = {key: str(value) for key, value in service["environment"].items()}
        if service_of(service["command"]) != "gateway":
            grace = int(service["stop_grace_period"].removesuffix("s"))
            assert grace > Settings.from_env(env).task_time_limit, name
    flower = services["flower"]
    assert flower["environment"]["BROKER"] == Settings.from_env(services["gateway"]["environment"]).broker_url
    assert 'celery --broker="$$BROKER" flower' in flower["command"][0]


def test_the_rabbitmq_profile_is_the_broker_every_service_waits_for(compose: Obj) -> None:
    """With the profile on and SITTER_BROKER_URL as the file's header says, every Sitter service and
    Flower use the profile's RabbitMQ, start after it is healthy, and log in as its user."""
    services = compose["services"]
    rabbitmq = services["rabbitmq"]
    assert rabbitmq["profiles"] == ["rabbitmq"] and "healthcheck" in rabbitmq
    assert any(volume.endswith(":/var/lib/rabbitmq") for volume in rabbitmq["volumes"])
    (documented,) = re.findall(r"SITTER_BROKER_URL=(amqp://\S+)", COMPOSE.read_text())
    url = urlsplit(documented)
    assert url.hostname == "rabbitmq" and url.port == 5672
    assert (url.username, url.password) == (
        rabbitmq["environment"]["RABBITMQ_DEFAULT_USER"],
        rabbitmq["environment"]["RABBITMQ_DEFAULT_PASS"],
    )
    for name, service in {**sitter_services(compose), "flower": services["flower"]}.items():
        assert service["depends_on"]["rabbitmq"] == {"condition": "service_healthy", "required": False}, name
    raw = yaml.safe_load(COMPOSE.read_text())
    assert raw["x-sitter-env"]["SITTER_BROKER_URL"] == "${SITTER_BROKER_URL:-}"
    assert raw["services"]["flower"]["environment"]["BROKER"] == "${SITTER_BROKER_URL:-redis://redis:6379/0}"
    assert rabbitmq["hostname"] == "rabbitmq", "a fixed node name: the same data directory after re-creation"
    env = {
        **{k: str(v) for k, v in services["gateway"]["environment"].items()},
        "SITTER_BROKER_URL": documented,
    }
    assert Settings.from_env(env).broker_url == documented


def test_the_gateway_cannot_start_without_api_keys(compose: Obj) -> None:
    """Keyless, the gateway would serve jobs only to its own container: compose must refuse instead."""
    assert "${SITTER_API_KEYS:?" in COMPOSE.read_text()
    env = compose["services"]["gateway"]["environment"]
    assert Settings.from_env({key: str(value) for key, value in env.items()}).api_keys == (
        "compose-test-key",
    )


def test_workers_and_gateway_run_under_the_k8s_memory_limits(compose: Obj) -> None:
    units = {"Mi": 2**20, "Gi": 2**30}
    k8s = {
        group["name"]: int(group["memoryLimit"][:-2]) * units[group["memoryLimit"][-2:]]
        for group in yaml.safe_load((ROOT / "k8s" / "workers.yaml").read_text())["workers"]
    }
    compose_units = {"m": 2**20, "g": 2**30}
    for name, service in sitter_services(compose).items():
        limit = service["mem_limit"]
        declared = int(limit[:-1]) * compose_units[limit[-1]]
        assert declared == k8s.get(name, 2**30), name  # the gateway: 1Gi, k8s/base/gateway.yaml


def test_consoles_are_published_on_this_host_only_unless_asked_and_flower_then_needs_auth(
    compose: Obj,
) -> None:
    services = compose["services"]
    assert [port.split(":")[0] for port in services["flower"]["ports"]] == ["127.0.0.1"]
    assert [port.split(":")[0] for port in services["minio"]["ports"]] == ["127.0.0.1"]
    raw = yaml.safe_load(COMPOSE.read_text())["services"]["flower"]
    assert raw["ports"] == ["${FLOWER_BIND:-127.0.0.1}:${FLOWER_PORT:-5555}:5555"]
    script = services["flower"]["command"][0].replace("$$", "$").replace("exec celery", "echo celery")

    def flower(bind: str, auth: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/bin:/bin", "BROKER": "redis://nowhere:1/0", "BIND": bind, "BASIC_AUTH": auth}
        return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, check=False)

    refused = flower("0.0.0.0", "")
    assert refused.returncode == 1 and "needs FLOWER_BASIC_AUTH" in refused.stderr
    allowed = flower("0.0.0.0", "ops:secret")
    assert allowed.returncode == 0
    assert "--basic-auth=ops:secret" in allowed.stdout


def test_build_args_default_to_the_dockerfile_bases_and_env_files_stay_out_of_git(compose: Obj) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for name, service in compose["services"].items():
        if "build" in service:
            for arg, value in service["build"]["args"].items():
                assert f"ARG {arg}={value}\n" in dockerfile, f"{name}: {arg}={value}"
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, ".env must be ignored by git"
    assert "Compose v2.20 or newer" in COMPOSE.read_text()


def test_the_offline_override_replaces_every_base_a_registry_would_give(compose: Obj) -> None:
    """Without a registry (CI), a service the override misses pulls its base and the whole stack fails to
    build; a new service in docker-compose.yml must get its line there too."""
    offline = yaml.safe_load((ROOT / "docker/offline/compose.offline.yml").read_text())["services"]
    for name, service in compose["services"].items():
        stand_in = offline.get(name, {})
        if "build" in service:
            args = stand_in.get("build", {}).get("args", {})
            stand_in_base = args.get("PYTHON_IMAGE", "")
            assert stand_in_base.startswith("sitter-offline/"), f"{name} builds on a pulled base"
            assert stand_in["build"].get("network") == "host", f"{name} cannot reach PyPI while building"
        else:
            assert stand_in.get("image", "").startswith("sitter-offline/"), f"{name} pulls {service['image']}"
