"""The shipped Compose stack, started as `make compose-up` starts it (docker/compose.sh), on a project name
and ports of its own, and driven with `docker compose` / `docker` as an operator would."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMING = ROOT / "tests" / "containers" / "compose.timing.yml"


def run(command: list[str], env: dict[str, str], timeout: float = 600, check: bool = True) -> str:
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout + result.stderr


@dataclass
class ComposeStack:
    """One Compose project: `up`/`down` through docker/compose.sh, the rest through `docker compose`."""

    project: str
    http_port: int
    api_key: str
    admin_key: str = "ci-admin-key"
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if not name.startswith("SITTER_")}
        env.update(
            COMPOSE_PROJECT_NAME=self.project,
            SITTER_API_KEYS=self.api_key,
            SITTER_ADMIN_KEYS=self.admin_key,
            SITTER_HTTP_PORT=str(self.http_port),
            SITTER_TAG="ci",
            SITTER_COMPOSE_FILES=str(TIMING),
            FLOWER_PORT="0",
            MINIO_CONSOLE_PORT="0",
        )
        env.update(self.extra_env)
        return env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def script(self, action: str, timeout: float = 1800) -> str:
        return run(["sh", "docker/compose.sh", action], self.env, timeout=timeout)

    def files(self) -> list[str]:
        """The -f options docker/compose.sh chose (its offline decision is visible in the labels)."""
        out = run(["docker", "compose", "ls", "--all", "--format", "json"], self.env)
        for item in json.loads(out or "[]"):
            if item["Name"] == self.project:
                return [word for path in item["ConfigFiles"].split(",") for word in ("-f", path)]
        raise AssertionError(f"compose project {self.project} is not there")

    def compose(self, *args: str, timeout: float = 600) -> str:
        return run(["docker", "compose", *self.files(), *args], self.env, timeout=timeout)

    def container(self, service: str) -> str:
        ids = self.compose("ps", "--all", "-q", service).split()
        assert len(ids) == 1, f"{service}: {ids}"
        return ids[0]

    def inspect(self, service: str) -> dict[str, object]:
        document: list[dict[str, object]] = json.loads(
            run(["docker", "inspect", self.container(service)], self.env)
        )
        return document[0]

    def leftovers(self) -> list[str]:
        """Containers, networks and volumes of this project still on the engine."""
        label = f"label=com.docker.compose.project={self.project}"
        found = []
        for kind in ("container", "network", "volume"):
            listing = ["docker", kind, "ls", "-q", "--filter", label] + (
                ["--all"] if kind == "container" else []
            )
            found += [f"{kind} {name}" for name in run(listing, self.env).split()]
        return found
