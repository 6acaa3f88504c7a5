"""The Kubernetes manifests: rendered overlays validated offline and cross-checked against the code.

No cluster here: each overlay is rendered by k8s/render.py (compared with `kubectl kustomize` where kubectl
exists), every object is validated against the strict Kubernetes 1.30 schemas (kubernetes-validate) or,
for KEDA's ScaledObject, the committed schema, and the objects are checked against each other and the code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from jsonschema import Draft202012Validator

from gateway.params import max_request_bytes
from k8s import generate_workers
from k8s.render import KustomizeError, render, split_image
from shared.queues import PREVIEW_SEGMENTER
from shared.settings import Settings
from tests.helpers.deploy import (
    FRONT_COMMAND,
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
    yaml_lint,
)
from tests.helpers.kubernetes import K8S, OVERLAYS, SECRET, by_kind, container_env, pod_spec

NAMESPACES = {"dev": "sitter-dev", "gpu": "sitter", "rabbitmq": "sitter-dev"}
KUBERNETES_VERSION = "1.30.0"
KEDA_SCHEMA = K8S / "schemas" / "keda-scaledobject.schema.json"
WORKLOADS = ("Deployment", "StatefulSet")

Obj = dict[str, Any]


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[Obj]]:
    return request.param, render(K8S / "overlays" / request.param)


def sitter_containers(objects: list[Obj]) -> list[tuple[Obj, Obj]]:
    """(Deployment, container) for every container that runs Sitter code (not Redis, not the front)."""
    return [
        (deployment, container)
        for deployment in by_kind(objects, "Deployment").values()
        for container in pod_spec(deployment)["containers"]
        if container["name"] != "front"
    ]


def front_container(objects: list[Obj]) -> Obj:
    """The gateway pod's HTTP front: nginx, the first container."""
    front: Obj = pod_spec(by_kind(objects, "Deployment")["gateway"])["containers"][0]
    assert front["name"] == "front"
    return front


def selects(selector: dict[str, str], workload: Obj) -> bool:
    labels = workload["spec"]["template"]["metadata"]["labels"]
    return all(labels.get(key) == value for key, value in selector.items())


@pytest.mark.slow
def test_renderer_matches_kubectl_kustomize(overlay: tuple[str, list[Obj]]) -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed; the pure-Python render stands alone")
    name, objects = overlay
    output = subprocess.run(
        ["kubectl", "kustomize", str(K8S / "overlays" / name)], capture_output=True, text=True, check=True
    ).stdout

    def key(obj: Obj) -> tuple[str, str, str]:
        return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]

    theirs = {key(obj): obj for obj in yaml.safe_load_all(output) if obj}
    ours = {key(obj): obj for obj in objects}
    assert ours.keys() == theirs.keys()
    assert [k for k in ours if ours[k] != theirs[k]] == []


def test_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\nnamePrefix: x-\n")
    with pytest.raises(KustomizeError, match="namePrefix"):
        render(tmp_path)
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [cm.yaml]\npatches:\n  - target: {kind: Secret}\n    patch: '[]'\n"
    )
    with pytest.raises(KustomizeError, match="matches nothing"):
        render(tmp_path)


def test_every_object_is_valid_against_its_schema(overlay: tuple[str, list[Obj]]) -> None:
    keda = Draft202012Validator(json.loads(KEDA_SCHEMA.read_text()))
    name, objects = overlay
    kinds = {obj["kind"] for obj in objects}
    assert {"Deployment", "Service", "ConfigMap", "Ingress", "HorizontalPodAutoscaler"} <= kinds
    assert {"PodDisruptionBudget", "ScaledObject", "StatefulSet"} <= kinds
    for obj in objects:
        where = f"{name}: {obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "ScaledObject":
            errors = [error.message for error in keda.iter_errors(obj)]
            assert errors == [], where
        else:
            try:
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{where}: {exc.message} at {list(exc.path)}")
        assert obj["metadata"].get("namespace") == NAMESPACES[name], where


def test_keda_schema_rejects_a_malformed_redis_trigger() -> None:
    keda = Draft202012Validator(json.loads(KEDA_SCHEMA.read_text()))
    scaled = yaml.safe_load_all((K8S / "base" / "workers" / "segmenter.yaml").read_text())
    obj = next(doc for doc in scaled if doc["kind"] == "ScaledObject")
    assert list(keda.iter_errors(obj)) == []
    obj["spec"]["triggers"][0]["metadata"]["listLenght"] = "4"
    assert list(keda.iter_errors(obj))


def test_keda_schema_rejects_a_malformed_rabbitmq_trigger() -> None:
    keda = Draft202012Validator(json.loads(KEDA_SCHEMA.read_text()))
    scaled = by_kind(render(K8S / "overlays" / "rabbitmq"), "ScaledObject")["segmenter"]
    assert list(keda.iter_errors(scaled)) == []
    scaled["spec"]["triggers"][0]["metadata"]["queueLength"] = "4"  # KEDA 1.x's name, now `value`
    assert list(keda.iter_errors(scaled))


def test_yaml_files_pass_yamllint() -> None:
    assert yaml_lint(sorted(K8S.rglob("*.yaml"))) == []


def test_generated_worker_files_are_up_to_date() -> None:
    spec = yaml.safe_load(generate_workers.SPEC.read_text())
    configmap = yaml.safe_load(generate_workers.CONFIGMAP.read_text())
    expected = generate_workers.generate(spec, configmap)
    actual = {path.name: path.read_text() for path in generate_workers.OUT.glob("*.yaml")}
    assert actual == expected, "run `.venv/bin/python -m k8s.generate_workers` and commit the result"
    overlay = generate_workers.rabbitmq_overlay(spec["workers"])
    assert generate_workers.RABBITMQ_OVERLAY.read_text() == overlay, "run k8s.generate_workers again"


def test_worker_spec_refuses_a_style_without_worker_or_served_twice() -> None:
    spec = yaml.safe_load(generate_workers.SPEC.read_text())
    stylizers = [worker for worker in spec["workers"] if worker["service"] == "stylizer"]
    dropped = stylizers[0]["styles"].pop()
    with pytest.raises(ValueError, match=f"without a worker: \\['{dropped}'\\]"):
        generate_workers.validate(spec["workers"])
    stylizers[0]["styles"].append(dropped)
    stylizers[1]["styles"].append(dropped)
    with pytest.raises(ValueError, match="served by both"):
        generate_workers.validate(spec["workers"])


@pytest.mark.parametrize(
    ("service", "queues", "refusal"),
    [
        ("segmenter", ["segment", "preview"], "queues are 'preview,segment', 'preview' or 'segment'"),
        ("segmenter", ["segmnt"], "not 'segmnt'"),
        ("compositor", ["preview"], "only a segmenter chooses its queues"),
    ],
)
def test_worker_spec_refuses_queues_of_no_segmenter_role(
    service: str, queues: list[str], refusal: str
) -> None:
    spec = yaml.safe_load(generate_workers.SPEC.read_text())
    worker = next(worker for worker in spec["workers"] if worker["service"] == service)
    worker["queues"] = queues
    with pytest.raises(ValueError, match=refusal):
        generate_workers.validate(spec["workers"])


def test_commands_images_and_users_match_the_dockerfile(overlay: tuple[str, list[Obj]]) -> None:
    name, objects = overlay
    stages = dockerfile_stages()
    for deployment, container in sitter_containers(objects):
        where = f"{name}: {deployment['metadata']['name']}"
        assert command_problems(container["command"], where) == []
        service = service_of(container["command"])
        image, tag = split_image(container["image"])
        assert image.rsplit("/", 1)[-1].removeprefix("sitter-").split("-")[0] == service, where
        assert tag, f"{where}: image {container['image']} has no tag"
        assert f"USER {pod_spec(deployment)['securityContext']['runAsUser']}:" in " ".join(stages[service])
        assert pod_spec(deployment)["securityContext"]["runAsNonRoot"] is True


def test_environment_is_complete_and_known(overlay: tuple[str, list[Obj]]) -> None:
    name, objects = overlay
    for deployment, container in sitter_containers(objects):
        env = container_env(objects, container)
        assert env_problems(env, f"{name}: {deployment['metadata']['name']}") == []
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                assert source["secretRef"].get("optional") is True, "only the API keys are required"


def test_the_gateway_waits_for_api_keys_from_the_secret(overlay: tuple[str, list[Obj]]) -> None:
    """Keyless, the gateway would serve jobs to nobody outside its pod: like compose's `${...:?}`, the pod
    must not start until the operator has put SITTER_API_KEYS in the Secret."""
    _, objects = overlay
    gateways = [c for _, c in sitter_containers(objects) if service_of(c["command"]) == "gateway"]
    assert gateways
    for container in gateways:
        (item,) = [item for item in container.get("env", []) if item["name"] == "SITTER_API_KEYS"]
        assert item["valueFrom"] == {"secretKeyRef": {"name": SECRET, "key": "SITTER_API_KEYS"}}
        assert Settings.from_env(container_env(objects, container)).api_keys == ("k8s-test-key",)


def test_probes_hit_real_endpoints_and_checks(overlay: tuple[str, list[Obj]]) -> None:
    name, objects = overlay
    for deployment, container in sitter_containers(objects):
        where = f"{name}: {deployment['metadata']['name']}"
        ports = {port["name"] for port in container.get("ports", [])}
        ports |= {
            port["containerPort"] for c in pod_spec(deployment)["containers"] for port in c.get("ports", [])
        }
        for probe_name in ("readinessProbe", "livenessProbe"):
            probe = container[probe_name]
            if "httpGet" in probe:
                assert probe["httpGet"]["path"] in gateway_paths(), where
                assert probe["httpGet"]["port"] in ports, where
            elif service_of(container["command"]) != "gateway":
                assert probe["exec"]["command"] == [*container["command"], "--check"], where
            assert probe["timeoutSeconds"] < probe["periodSeconds"], where
    (gateway,) = [c for _, c in sitter_containers(objects) if service_of(c["command"]) == "gateway"]
    front = front_container(objects)
    # the kubelet cannot reach gunicorn's loopback: readiness through the front, liveness from inside
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": front_port()}
    liveness = " ".join(gateway["livenessProbe"]["exec"]["command"])
    assert f"http://{front_upstream()}/healthz" in liveness
    assert front["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert front["livenessProbe"]["tcpSocket"] == {"port": "http"}
    for probe in (front["readinessProbe"], front["livenessProbe"], gateway["livenessProbe"]):
        assert probe["timeoutSeconds"] < probe["periodSeconds"]


def test_services_ingress_and_upload_limit(overlay: tuple[str, list[Obj]]) -> None:
    name, objects = overlay
    workloads = [obj for obj in objects if obj["kind"] in WORKLOADS]
    services = by_kind(objects, "Service")
    for service in services.values():
        targets = [w for w in workloads if selects(service["spec"]["selector"], w)]
        assert len(targets) == 1, f"{name}: Service {service['metadata']['name']} selects {len(targets)}"
        ports = {p["name"] for c in pod_spec(targets[0])["containers"] for p in c.get("ports", [])}
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= ports
    ingress = by_kind(objects, "Ingress")["gateway"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["port"]["name"] in {port["name"] for port in services[backend["name"]]["spec"]["ports"]}
    settings = Settings.from_env(by_kind(objects, "ConfigMap")["sitter-config"]["data"])
    public = urlsplit(settings.public_base_url)
    host = ingress["spec"]["rules"][0]["host"]
    assert public.hostname == host, "API links must use the Ingress host"
    tls_hosts = [name for entry in ingress["spec"].get("tls", []) for name in entry["hosts"]]
    assert public.scheme == ("https" if host in tls_hosts else "http")
    body = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert body.endswith("m")
    assert int(body[:-1]) * 1024 * 1024 >= max_request_bytes(settings)
    assert front_directives()["client_max_body_size"] == [body], "the Ingress and the front admit the same"


def test_the_service_reaches_only_the_front_and_the_front_reaches_gunicorn(
    overlay: tuple[str, list[Obj]],
) -> None:
    """Slow clients must meet nginx, never gunicorn: the pod's one port is the front's, and gunicorn
    listens on loopback where the front's upstream points."""
    name, objects = overlay
    front = front_container(objects)
    pod = pod_spec(by_kind(objects, "Deployment")["gateway"])
    assert front["command"] == FRONT_COMMAND == exec_form_of("front", "CMD")
    image, tag = split_image(front["image"])
    assert image.rsplit("/", 1)[-1] in {"sitter-front", "front"}, f"{name}: {image}"
    assert tag, f"{name}: the front's image has no tag"
    assert front["ports"] == [{"name": "http", "containerPort": front_port()}]
    (gateway,) = [c for _, c in sitter_containers(objects) if service_of(c["command"]) == "gateway"]
    assert "ports" not in gateway
    assert gateway["command"][gateway["command"].index("--bind") + 1] == front_upstream()
    assert bind_port(container_env(objects, gateway)["SITTER_FRONT_LISTEN"]) == front_port()
    assert front["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {mount["mountPath"]: mount["name"] for mount in front["volumeMounts"]}
    assert mounts["/tmp"] in {volume["name"] for volume in pod["volumes"]}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert f"USER {pod['securityContext']['runAsUser']}:" in " ".join(dockerfile_stages()["front"])


def test_autoscalers_and_disruption_budgets_target_real_workloads(overlay: tuple[str, list[Obj]]) -> None:
    name, objects = overlay
    deployments = by_kind(objects, "Deployment")
    hpa = by_kind(objects, "HorizontalPodAutoscaler")["gateway"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gateway"}
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    scaled = {obj["spec"]["scaleTargetRef"]["name"] for obj in by_kind(objects, "ScaledObject").values()}
    assert scaled | {"gateway"} == set(deployments), "every Deployment has exactly one autoscaler"
    for deployment in deployments.values():
        assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
    for budget in by_kind(objects, "PodDisruptionBudget").values():
        selector = budget["spec"]["selector"]["matchLabels"]
        matched = [w for w in deployments.values() if selects(selector, w)]
        assert len(matched) == 1, f"{name}: PDB {budget['metadata']['name']} matches {len(matched)}"
    assert set(by_kind(objects, "PodDisruptionBudget")) == set(deployments)


def _trigger_problems(trigger: Obj, broker_url: str, env: dict[str, str]) -> list[str]:
    """A trigger must count, on the broker the workers use, what the workers consume from it."""
    meta = trigger["metadata"]
    scheme, _, rest = broker_url.partition("://")
    host_port, _, database = rest.partition("/")
    if trigger["type"] == "redis":
        problems = [] if scheme.startswith("redis") else [f"a redis trigger on a {scheme} broker"]
        if env[meta["addressFromEnv"]] != host_port.rpartition("@")[2]:
            problems.append(f"KEDA counts in {env[meta['addressFromEnv']]}, not the broker")
        if meta["passwordFromEnv"] not in env or meta["databaseIndex"] != (database or "0"):
            problems.append("KEDA's Redis password or database differs from the broker's")
        return problems
    # RabbitMQ: ready + unacknowledged messages need the management API (over AMQP KEDA sees ready ones)
    problems = [] if scheme.startswith("amqp") else [f"a rabbitmq trigger on a {scheme} broker"]
    if (meta["protocol"], meta["mode"], meta.get("excludeUnacknowledged", "false")) != (
        "http",
        "QueueLength",
        "false",
    ):
        problems.append("the trigger must count ready and unacknowledged messages (http, QueueLength)")
    management = urlsplit(env[meta["hostFromEnv"]])
    broker = urlsplit(broker_url)
    if (management.hostname, management.username, management.path) != (
        broker.hostname,
        broker.username,
        broker.path,
    ):
        problems.append(f"KEDA counts in {management.hostname}{management.path}, not the broker's vhost")
    return problems


def test_each_queue_has_one_scaled_consumer(overlay: tuple[str, list[Obj]]) -> None:
    """KEDA counts the queue that the Deployment's own command consumes, on the broker it consumes from."""
    name, objects = overlay
    deployments = by_kind(objects, "Deployment")
    consumers: dict[str, list[str]] = {}
    for scaled in by_kind(objects, "ScaledObject").values():
        target = deployments[scaled["spec"]["scaleTargetRef"]["name"]]
        container = pod_spec(target)["containers"][0]
        env = container_env(objects, container)
        settings = Settings.from_env(env)
        triggers = scaled["spec"]["triggers"]
        for trigger in triggers:
            assert _trigger_problems(trigger, settings.broker_url, env) == [], target["metadata"]["name"]
        assert {trigger["type"] for trigger in triggers} == {"rabbitmq" if name == "rabbitmq" else "redis"}
        queues = [
            trigger["metadata"].get("listName") or trigger["metadata"]["queueName"] for trigger in triggers
        ]
        assert queues == consumed_queues(container["command"]), f"{name}: {target['metadata']['name']}"
        for queue in queues:
            consumers.setdefault(queue, []).append(target["metadata"]["name"])
        assert scaled["spec"]["cooldownPeriod"] >= settings.task_time_limit
    assert consumer_problems(consumers) == [], name
    rarely_used = [s for s in by_kind(objects, "ScaledObject").values() if s["spec"]["minReplicaCount"] == 0]
    assert rarely_used, "rarely used styles scale down to zero"


def test_the_segmenters_split_the_queues_and_previews_are_always_served(
    overlay: tuple[str, list[Obj]],
) -> None:
    """The segmenter on `segment`, the dedicated preview consumer on `preview` (the commands `sitter up`
    runs) with one pool process, the segmenter's image and resources, and at least one replica always up:
    a preview cannot wait for a pod to start."""
    name, objects = overlay
    deployments = by_kind(objects, "Deployment")
    containers = {group: pod_spec(deployments[group])["containers"][0] for group in SEGMENTER_COMMANDS}
    for group, command in SEGMENTER_COMMANDS.items():
        assert containers[group]["command"] == command, f"{name}: {group}"
    preview, segmenter = containers[PREVIEW_SEGMENTER], containers["segmenter"]
    assert (preview["image"], preview["resources"]) == (segmenter["image"], segmenter["resources"]), name
    assert Settings.from_env(container_env(objects, preview)).worker_concurrency == 1, name
    assert by_kind(objects, "ScaledObject")[PREVIEW_SEGMENTER]["spec"]["minReplicaCount"] >= 1, name


def test_workers_shut_down_gracefully_within_the_task_time_limit(overlay: tuple[str, list[Obj]]) -> None:
    name, objects = overlay
    for deployment, container in sitter_containers(objects):
        if service_of(container["command"]) == "gateway":
            continue
        limit = Settings.from_env(container_env(objects, container)).task_time_limit
        grace = pod_spec(deployment)["terminationGracePeriodSeconds"]
        assert limit < grace <= limit + 60, f"{name}: {deployment['metadata']['name']} grace {grace}"


def test_resources_and_gpu_placement(overlay: tuple[str, list[Obj]]) -> None:
    name, objects = overlay
    for deployment, container in sitter_containers(objects):
        where = f"{name}: {deployment['metadata']['name']}"
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]) and "memory" in resources["limits"], where
        gpu = "nvidia.com/gpu" in resources["limits"]
        stylizer = service_of(container["command"]) == "stylizer"
        assert gpu == (name == "gpu" and stylizer), where
        env = container_env(objects, container)
        if gpu:
            assert resources["limits"]["nvidia.com/gpu"] == "1"
            assert "gpu" in container["image"], f"{where}: a GPU pod needs the GPU stylizer image"
            assert pod_spec(deployment)["nodeSelector"] and pod_spec(deployment)["tolerations"]
        if "SITTER_INFERENCE_THREADS" in env:
            assert int(env["SITTER_INFERENCE_THREADS"]) == int(resources["requests"]["cpu"]), where
