"""`shared/` is importable with the base install alone; only `shared/runtime/` needs the service extras.

Every module of `shared` outside `shared.runtime` is imported in a fresh interpreter in which Celery, Redis,
boto3, prometheus_client and Flask (and the packages that come only with them) cannot be imported; a
module that pulls one in, directly or through another `shared` module, fails the test by name.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import shared

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = "shared.runtime"
# The worker and gateway extras' packages, and what only they bring (kombu and billiard with Celery,
# botocore with boto3, werkzeug with Flask, gunicorn with the gateway).
BLOCKED = (
    "celery", "kombu", "billiard", "redis", "boto3", "botocore", "prometheus_client", "flask", "werkzeug",
    "gunicorn",
)  # fmt: skip

# Runs in the child: a finder ahead of all others refuses the blocked packages and says which module
# asked (the nearest frame outside importlib); then each module is imported and its failure kept.
CHILD = """
import importlib, json, sys

BLOCKED = set(sys.argv[1].split(","))


class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in BLOCKED:
            return None
        frame = sys._getframe(1)
        while frame is not None and frame.f_globals.get("__name__", "").startswith("importlib"):
            frame = frame.f_back
        importer = frame.f_globals.get("__name__", "?") if frame is not None else "?"
        raise ImportError(f"{importer} imports {name}, which only the service extras install")


sys.meta_path.insert(0, Blocked())
failures = {}
for module in sys.argv[2:]:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        failures[module] = str(exc)
print(json.dumps(failures))
"""


def pure_modules() -> list[str]:
    modules = ["shared"] + [
        info.name
        for info in pkgutil.walk_packages(shared.__path__, "shared.")
        if not info.name.startswith(RUNTIME)
    ]
    return sorted(modules)


def blocked_imports(modules: list[str]) -> dict[str, str]:
    """Module -> why it failed to import without the service extras (absent: it imported)."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, ",".join(BLOCKED), *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    failures: dict[str, str] = json.loads(result.stdout.splitlines()[-1])
    return failures


def test_pure_shared_modules_import_without_service_extras() -> None:
    modules = pure_modules()
    assert {"shared.jobs", "shared.previews", "shared.settings", "shared.imageio"} <= set(modules)
    failures = blocked_imports(modules)
    assert not failures, "\n".join(f"{module}: {why}" for module, why in failures.items())


def test_the_check_names_the_module_that_pulls_in_a_runtime_package() -> None:
    failures = blocked_imports(["shared.runtime.job_store", "shared.runtime.celery_app"])
    assert failures == {
        "shared.runtime.job_store": (
            "shared.runtime.job_store imports redis, which only the service extras install"
        ),
        "shared.runtime.celery_app": (
            "shared.runtime.celery_app imports celery, which only the service extras install"
        ),
    }
