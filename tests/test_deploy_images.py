"""The Dockerfile, .dockerignore and docker/constraints.txt, checked without a Docker engine.

Each service target must run a real entry point as a non-root user with a health check, carry exactly
its service's models (as catalogued, so `--check` verifies them), install only its own extras from
pinned versions, and keep build steps out of the final stages. The gateway's extras must pull in no
ML library at all.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pathspec
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers.deploy import (
    FRONT_COMMAND,
    FRONT_CONF,
    ROOT,
    WORKER_MODULES,
    command_problems,
    dockerfile_stages,
    exec_form,
    front_port,
    gateway_paths,
    image_extras,
    lock,
    service_of,
)

SERVICES = ("gateway", "segmenter", "stylizer", "compositor")
ML_DISTRIBUTIONS = {"onnxruntime", "onnxruntime-gpu", "onnx", "ai-edge-litert", "opencv-python-headless"}
MODEL_DIR = "/opt/sitter/models"
PACKAGES = {"shared", "services", "gateway", "sitter"}  # [tool.setuptools.packages.find]


def instructions(stage: str, keyword: str) -> list[str]:
    return [line[len(keyword) + 1 :] for line in dockerfile_stages()[stage] if line.startswith(f"{keyword} ")]


def test_base_image_is_pinned_to_the_project_python() -> None:
    text = (ROOT / "Dockerfile").read_text()
    match = re.search(r"^ARG PYTHON_IMAGE=python:(\d+)\.(\d+)\.(\d+)-slim-\w+$", text, re.MULTILINE)
    assert match, "the base image must be a pinned python:X.Y.Z-slim-<debian> tag"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == f">={match.group(1)}.{match.group(2)}"


@pytest.mark.parametrize("service", SERVICES)
def test_each_target_runs_its_entry_point_as_non_root_with_a_health_check(service: str) -> None:
    stage = dockerfile_stages()[service]
    assert stage[0] == f"FROM runtime AS {service}"
    command = exec_form(service, "CMD")
    assert command_problems(command, service) == [] and service_of(command) == service
    (user,) = instructions(service, "USER")
    assert not user.startswith(("0", "root")), "images run as a non-root user"
    assert f"--uid {user.split(':')[0]}" in " ".join(dockerfile_stages()["runtime"])
    check = exec_form(service, "HEALTHCHECK")
    if service == "gateway":
        url = re.search(r"http://127\.0\.0\.1:8000(/\w+)", " ".join(check))
        assert url and url.group(1) in gateway_paths() and "0.0.0.0:8000" in command
    else:
        assert check == [*command, "--check"]


def test_front_image_is_pinned_nginx_with_the_repository_config_as_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG NGINX_IMAGE=nginx:\d+\.\d+\.\d+-alpine$", text, re.MULTILINE)
    assert dockerfile_stages()["front"][0] == "FROM ${NGINX_IMAGE} AS front"
    (copy,) = instructions("front", "COPY")
    config = FRONT_COMMAND[FRONT_COMMAND.index("-c") + 1]
    assert copy == f"{FRONT_CONF.relative_to(ROOT)} {config}"
    assert exec_form("front", "ENTRYPOINT") == []  # not the stock entrypoint, which rewrites /etc/nginx
    assert exec_form("front", "CMD") == FRONT_COMMAND
    (user,) = instructions("front", "USER")
    assert not user.startswith(("0", "root")) and instructions("front", "EXPOSE") == [str(front_port())]
    check = " ".join(exec_form("front", "HEALTHCHECK"))
    url = re.search(rf"http://127\.0\.0\.1:{front_port()}(/\w+)", check)
    assert url and url.group(1) in gateway_paths()


@pytest.mark.parametrize("service", SERVICES)
def test_final_stages_hold_no_build_step(service: str) -> None:
    for stage in ("runtime", service):
        for line in dockerfile_stages()[stage]:
            keyword = line.split()[0]
            assert keyword in {
                "FROM",
                "RUN",
                "COPY",
                "USER",
                "EXPOSE",
                "HEALTHCHECK",
                "CMD",
                "WORKDIR",
                "STOPSIGNAL",
            }
            if keyword == "RUN":
                assert (
                    stage == "runtime" and "useradd" in line and "apt-get" not in line and "pip" not in line
                )
            if keyword == "COPY":
                assert line.startswith("COPY --from="), "final stages copy only from build stages"


@pytest.mark.parametrize("service", ["segmenter", "stylizer", "compositor"])
def test_each_worker_image_takes_the_models_exported_for_its_service(service: str) -> None:
    """The list itself is shared.worker_models (tests/test_worker_models.py runs the export and the
    check on it); tests/test_containers.py builds the images and starts every worker on what they hold."""
    copied = [line for line in instructions(service, "COPY") if line.startswith("--from=models ")]
    assert copied == [f"--from=models /opt/models/{service}/ {MODEL_DIR}/"]
    assert f"SITTER_MODEL_DIR={MODEL_DIR}" in " ".join(dockerfile_stages()["python-base"])
    (fetch,) = instructions("models", "RUN")
    assert (
        "sitter models fetch" in fetch and 'sitter models export "$service" "/opt/models/$service"' in fetch
    )
    assert "for service in segmenter stylizer compositor;" in fetch
    assert ".[" not in fetch, "the models stage installs the base package only"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["sitter"] == "sitter.cli:main"


def test_gateway_image_installs_no_ml_library() -> None:
    assert image_extras("gateway") == ["gateway"]
    names = {canonicalize_name(req.name) for req in lock.requirements(image_extras("gateway"))}
    assert names and not names & ML_DISTRIBUTIONS
    assert {"flask", "gunicorn", "celery", "redis", "boto3"} <= names


@pytest.mark.parametrize("service", ["segmenter", "stylizer", "compositor"])
def test_worker_images_install_their_service_and_worker_extras(service: str) -> None:
    assert image_extras(service) == [service, "worker"]


def test_gpu_stylizer_is_a_build_argument() -> None:
    stage = " ".join(dockerfile_stages()["build-stylizer"])
    assert "ARG STYLIZER_RUNTIME=cpu" in stage
    assert '"$STYLIZER_RUNTIME" = "gpu"' in stage and "pip uninstall --yes onnxruntime" in stage
    assert '"onnxruntime-gpu[cuda,cudnn]"' in stage


@pytest.mark.parametrize("service", SERVICES)
def test_constraints_pin_everything_an_image_installs(service: str) -> None:
    pins = lock.read_pins()
    for requirement in lock.requirements(image_extras(service)):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not pinned: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]}"


def test_constraints_pin_the_gpu_runtime_with_its_cuda_wheels() -> None:
    pins = lock.read_pins()
    gpu = Requirement(lock.GPU_REQUIREMENT)
    assert gpu.specifier.contains(pins["onnxruntime-gpu"])
    assert any(name.startswith("nvidia-cudnn") for name in pins)


def test_dockerignore_sends_the_sources_and_nothing_else() -> None:
    spec = pathspec.GitIgnoreSpec.from_lines((ROOT / ".dockerignore").read_text().splitlines())
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    sources = [
        word
        for stage in dockerfile_stages().values()
        for line in stage
        if line.startswith("COPY ") and not line.startswith("COPY --from")
        for word in line.split()[1:-1]
    ]
    for source in sources:
        files = [path for path in tracked if path == source or path.startswith(f"{source}/")]
        assert files or source == "README.md", f"COPY {source} copies nothing"
        assert [path for path in files if spec.match_file(path)] == [], f"{source} is excluded"
    sent = [path for path in tracked if not spec.match_file(path)]
    assert sent and all(path.split("/")[0] in {*sources, "docker"} for path in sent)
    assert spec.match_file("tests/test_jobs.py") and spec.match_file(".venv/bin/python")


@pytest.mark.slow
def test_the_build_context_installs_every_module_and_data_file(tmp_path: Path) -> None:
    """Build the wheel the images install, from exactly what .dockerignore sends, and look inside."""
    spec = pathspec.GitIgnoreSpec.from_lines((ROOT / ".dockerignore").read_text().splitlines())
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    context = tmp_path / "context"
    for path in tracked:
        if not spec.match_file(path) and (ROOT / path).is_file():
            (context / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, context / path)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q"]
    subprocess.run([*build, str(context), "-w", str(tmp_path / "wheel")], check=True, capture_output=True)
    (wheel,) = (tmp_path / "wheel").glob("sitter-*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    sources = [path for path in tracked if path.split("/")[0] in PACKAGES and not spec.match_file(path)]
    assert sources and [path for path in sources if path not in packaged] == []
    for module in WORKER_MODULES.values():
        assert module.replace(".", "/") + ".py" in packaged
    assert {"gateway/app.py", "gateway/static/index.html", "shared/data/paintings/paintings.json"} <= packaged
