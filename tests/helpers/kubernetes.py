"""The rendered Kubernetes objects, looked up by kind and read as the kubelet reads them."""

from __future__ import annotations

from typing import Any

from tests.helpers.deploy import ROOT

Obj = dict[str, Any]
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "gpu", "rabbitmq")
SECRET = "sitter-secrets"
SECRET_VALUES = {"SITTER_API_KEYS": "k8s-test-key"}  # what an operator must put in the Secret (README)


def by_kind(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def _env_value(item: Obj) -> str:
    """An `env` entry's value; one from a Secret is what an operator must put there (SECRET_VALUES)."""
    if "value" in item:
        return str(item["value"])
    ref = item["valueFrom"]["secretKeyRef"]
    assert ref["name"] == SECRET, f"{item['name']} must come from the Secret {SECRET}"
    return SECRET_VALUES[ref["key"]]


def container_env(objects: list[Obj], container: Obj) -> dict[str, str]:
    """What the container sees: its ConfigMaps, then its own `env` (the optional Secret is not needed)."""
    configmaps = by_kind(objects, "ConfigMap")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(configmaps[source["configMapRef"]["name"]]["data"])
    env.update({item["name"]: _env_value(item) for item in container.get("env", [])})
    return env
