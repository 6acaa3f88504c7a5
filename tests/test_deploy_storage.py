"""Storage budgets in the deployment files: every Redis is capped and never evicts, and the images never
share the broker's Redis, so a full blob store cannot stop the queue or the job records (issue #12)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from k8s.render import render
from shared.settings import Settings
from tests.helpers.compose import COMPOSE, interpolate
from tests.helpers.kubernetes import K8S, OVERLAYS, by_kind, pod_spec

Obj = dict[str, Any]
REDIS_UNITS = {"kb": 1024, "mb": 1024**2, "gb": 1024**3}
K8S_UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def _redis_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]b)?", value.lower()).groups()  # type: ignore[union-attr]
    return int(number) * REDIS_UNITS.get(unit or "", 1)


def _k8s_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", value).groups()  # type: ignore[union-attr]
    return int(number) * K8S_UNITS.get(unit or "", 1)


def _flag(args: list[str], name: str) -> str:
    assert name in args, f"{name} missing from {args}"
    return args[args.index(name) + 1]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_kubernetes_redis_is_capped_below_its_limit_and_never_evicts(overlay: str) -> None:
    objects = render(K8S / "overlays" / overlay)
    stateful = by_kind(objects, "StatefulSet")  # the rabbitmq overlay adds its broker beside the Redises
    redises = {name: workload for name, workload in stateful.items() if name.startswith("redis")}
    assert {"redis", "redis-blobs"} <= set(redises)
    for name, workload in redises.items():
        container = pod_spec(workload)["containers"][0]
        args = container["args"]
        assert _flag(args, "--maxmemory-policy") == "noeviction", name
        cap = _redis_bytes(_flag(args, "--maxmemory"))
        assert 0 < cap < _k8s_bytes(container["resources"]["limits"]["memory"]), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_images_live_apart_from_the_broker(overlay: str) -> None:
    objects = render(K8S / "overlays" / overlay)
    settings = Settings.from_env(by_kind(objects, "ConfigMap")["sitter-config"]["data"])
    assert settings.storage_quota_per_key > 0
    replicas = by_kind(objects, "StatefulSet")["redis-blobs"]["spec"]["replicas"]
    if settings.storage == "s3":
        assert replicas == 0, "with S3 the blob Redis is not needed"
        return
    blob_host = urlsplit(settings.blob_redis_url).hostname
    assert blob_host == "redis-blobs" != urlsplit(settings.broker_url).hostname
    assert urlsplit(settings.redis_url).hostname != blob_host
    assert replicas == 1


def test_the_compose_redis_is_capped_and_the_images_go_to_minio() -> None:
    services = interpolate(yaml.safe_load(COMPOSE.read_text()))["services"]
    args = services["redis"]["command"]
    assert _flag(args, "--maxmemory-policy") == "noeviction"
    assert _redis_bytes(_flag(args, "--maxmemory")) > 0
    settings = Settings.from_env({k: str(v) for k, v in services["gateway"]["environment"].items()})
    assert settings.storage == "s3" and urlsplit(settings.s3_endpoint_url).hostname == "minio"
    assert settings.storage_quota_per_key > 0
