"""What the deployment files (Dockerfile, compose, Kubernetes, the nginx front) must agree on: the
checks the deploy tests share."""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from shared import gallery
from shared.errors import SitterError
from shared.queues import (
    COMPOSITE_QUEUE,
    PREVIEW_SEGMENTER,
    SEGMENTER_QUEUES,
    all_queues,
    segmenter_queues,
    stylizer_queues,
)
from shared.settings import Settings
from shared.trained import trained_style_ids
from sitter.processes import MODULES, WORKERS, arguments

ROOT = Path(__file__).resolve().parents[2]


WORKER_MODULES = {name: MODULES[name] for name in WORKERS}  # the stack's table (sitter.processes)


GATEWAY_APP = "gateway.app:create_app()"


GATEWAY_CONF = "python:gateway.gunicorn_conf"  # stops a keyless gateway that listens beyond loopback


# The HTTP front (nginx) before gunicorn: its config is one file, built into the `front` image.
FRONT_CONF = ROOT / "docker" / "front" / "nginx.conf"


FRONT_COMMAND = ["nginx", "-c", "/etc/sitter/nginx.conf", "-p", "/tmp/", "-e", "stderr"]


# Set in a container, these must point at the right place: the loopback default means "not configured".
REQUIRED_ENV = ("SITTER_REDIS_URL",)


def _load_lock() -> Any:
    """docker/lock.py by path: the name `docker` belongs to the Docker SDK package that moto installs."""
    spec = importlib.util.spec_from_file_location("sitter_docker_lock", ROOT / "docker" / "lock.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lock = _load_lock()


# Yamllint: its defaults, with long unbreakable words (style lists, URLs) allowed and no `---` demanded.
YAMLLINT_CONFIG = """
extends: default
rules:
  document-start: disable
  line-length: {max: 120, allow-non-breakable-words: true, allow-non-breakable-inline-mappings: true}
  comments: {min-spaces-from-content: 1}
"""


def env_problems(env: Mapping[str, str], where: str) -> list[str]:
    """Unknown SITTER_* names, unparsable values, required variables left unset."""
    known = set(Settings.env_names())
    unknown = [name for name in env if name.startswith("SITTER_") and name not in known]
    problems = [f"{where}: {name} is not a Settings field" for name in unknown]
    problems += [f"{where}: {name} is not set" for name in REQUIRED_ENV if not env.get(name)]
    try:
        Settings.from_env(env)
    except SitterError as exc:
        problems.append(f"{where}: {exc.message}")
    return problems


def command_problems(command: Sequence[str], where: str) -> list[str]:
    """A container command must run a worker module's `main`, gunicorn with the gateway's factory, or the
    front with its config."""
    if command[:1] == ["nginx"]:
        return [] if list(command) == FRONT_COMMAND else [f"{where}: the front must run {FRONT_COMMAND}"]
    if list(command[:2]) == ["python", "-m"]:
        module = command[2]
        if module not in WORKER_MODULES.values() or importlib.util.find_spec(module) is None:
            return [f"{where}: {module} is not a worker entry point"]
        if not callable(getattr(importlib.import_module(module), "main", None)):
            return [f"{where}: {module} has no main()"]
        return []
    if command[:1] == ["gunicorn"]:
        if command[-1] != GATEWAY_APP:
            return [f"{where}: gunicorn must serve {GATEWAY_APP}, not {command[-1]}"]
        if ("--config", GATEWAY_CONF) not in itertools.pairwise(command):
            return [f"{where}: gunicorn must load --config {GATEWAY_CONF}"]
        module, _, factory = GATEWAY_APP.partition(":")
        if not callable(getattr(importlib.import_module(module), factory.rstrip("()"), None)):
            return [f"{where}: {GATEWAY_APP} does not exist"]
        return []
    return [f"{where}: {shlex.join(command)} is not a Sitter entry point"]


def worker_styles(command: Sequence[str]) -> list[str]:
    """The style ids a stylizer command serves (its --styles, expanded like the worker does); an image knows
    the shipped trained networks only (no deployment file sets SITTER_TRAINED_DIR)."""
    from services.stylizer.worker import expand_styles

    specs = command[command.index("--styles") + 1].split(",") if "--styles" in command else ["all"]
    return expand_styles(specs, trained_style_ids())


def consumed_queues(command: Sequence[str]) -> list[str]:
    """The queues a worker command consumes, as the worker itself computes them."""
    module = command[2]
    if module == WORKER_MODULES["stylizer"]:
        return stylizer_queues(worker_styles(command))
    if module == WORKER_MODULES["segmenter"]:
        spec = command[command.index("--queues") + 1] if "--queues" in command else ",".join(SEGMENTER_QUEUES)
        return list(segmenter_queues(spec))
    return [COMPOSITE_QUEUE]


# The segmenters as `sitter up` runs them (sitter.processes): the segmenter on `segment`, the dedicated
# preview consumer on `preview`; compose and k8s run the same commands.
SEGMENTER_COMMANDS = {
    name: ["python", *arguments(name, in_stack=True)] for name in ("segmenter", PREVIEW_SEGMENTER)
}


def consumer_problems(consumers: Mapping[str, Sequence[str]]) -> list[str]:
    """`consumers`: queue -> the worker groups (compose services, k8s Deployments) that consume it. Every
    routed queue needs exactly one: on RabbitMQ two groups on one queue share its messages round-robin."""
    problems = [f"{queue}: no consumer" for queue in sorted(known_queues() - set(consumers))]
    problems += [f"{queue}: no queue of the system" for queue in sorted(set(consumers) - known_queues())]
    problems += [
        f"{queue}: consumed by {', '.join(names)}" for queue, names in consumers.items() if len(names) > 1
    ]
    return problems


def service_of(command: Sequence[str]) -> str:
    """`segmenter`, `stylizer`, `compositor`, `gateway` or `front`: the Dockerfile target of its image."""
    if command[:1] == ["gunicorn"]:
        return "gateway"
    if command[:1] == ["nginx"]:
        return "front"
    return next(name for name, module in WORKER_MODULES.items() if module == command[2])


@cache
def dockerfile_stages() -> dict[str, list[str]]:
    """Stage name -> its instructions (continuation lines joined), from the repository's Dockerfile."""
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    logical = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.lstrip().startswith("#") and not logical:
            continue
        logical += line.rstrip("\\").strip() + " " if line.endswith("\\") else line.strip()
        if line.endswith("\\") or not logical:
            continue
        instruction, logical = logical, ""
        if instruction.upper().startswith("FROM "):
            words = instruction.split()
            current = []
            stages[words[3] if len(words) > 3 and words[2].upper() == "AS" else words[1]] = current
        current.append(instruction)
    return stages


def exec_form_of(stage: str, keyword: str) -> list[str]:
    """The JSON (exec) form of a stage's CMD or HEALTHCHECK's CMD."""
    (text,) = [line.split(" ", 1)[1] for line in dockerfile_stages()[stage] if line.startswith(f"{keyword} ")]
    text = text.split(" CMD ", 1)[1] if keyword == "HEALTHCHECK" else text
    command: list[str] = json.loads(text)
    return command


def image_extras(service: str) -> list[str]:
    """The extras the Dockerfile's build stage of `service` installs the project with."""
    (run,) = [line for line in dockerfile_stages()[f"build-{service}"] if line.startswith("RUN ")]
    match = re.search(r'"\.\[([a-z,]+)\]"', run)
    assert match, f"build-{service} does not install the project with extras"
    return match.group(1).split(",")


@cache
def front_directives() -> dict[str, list[str]]:
    """Each directive of the front's nginx.conf (`name value...;`, blocks flattened) -> its values."""
    directives: dict[str, list[str]] = {}
    for line in FRONT_CONF.read_text().splitlines():
        words = line.split("#", 1)[0].strip().rstrip(";").split(maxsplit=1)
        if len(words) == 2 and not words[1].endswith("{"):
            directives.setdefault(words[0], []).append(words[1])
    return directives


def bind_port(address: str) -> int:
    """The port of "host:port" (or of a bare port, as nginx's `listen 8000`)."""
    return int(address.rpartition(":")[2])


def front_upstream() -> str:
    """host:port the front proxies to: where gunicorn must listen."""
    (target,) = front_directives()["proxy_pass"]
    return target.removeprefix("http://")


def front_port() -> int:
    (listen,) = front_directives()["listen"]
    return bind_port(listen)


@cache
def known_queues() -> frozenset[str]:
    return frozenset(all_queues(list(gallery.paintings()), trained_style_ids()))


@cache
def gateway_paths() -> frozenset[str]:
    """Every route of the real gateway app (creating it touches no network)."""
    from gateway.app import create_app

    app = create_app(Settings(redis_url="redis://127.0.0.1:9/0"))
    return frozenset(rule.rule for rule in app.url_map.iter_rules())


def yaml_lint(paths: Sequence[Path]) -> list[str]:
    from yamllint import linter
    from yamllint.config import YamlLintConfig

    config = YamlLintConfig(YAMLLINT_CONFIG)
    return [
        f"{path}:{problem.line}: {problem.desc} ({problem.rule})"
        for path in paths
        for problem in linter.run(path.read_text(), config, str(path))
    ]


exec_form = exec_form_of
