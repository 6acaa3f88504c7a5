"""Starting the product's processes (workers, the gateway, any command) for a test, and stopping them.

The command lines of the gateway and the workers come from sitter.processes, the one table `sitter up`
uses too; what is here is how a test starts, watches and stops them (a log file each, readiness by log
line)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sitter.processes import GATEWAY, WORKERS, arguments
from tests.helpers.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Spawned:
    """A started subprocess, its own process group (so its children die with it) and its log file."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)

    def stop(self, timeout: float = 15) -> None:
        if self.process.poll() is not None:
            return
        self.kill(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.process.wait(5)


Spawn = Callable[..., Spawned]


def spawner(log_dir: Path) -> tuple[Spawn, list[Spawned]]:
    started: list[Spawned] = []

    def spawn(
        args: Sequence[str],
        env: Mapping[str, str],
        *,
        ready: str | None = None,
        timeout: float = 60,
        name: str = "proc",
    ) -> Spawned:
        """Start `args` (a python module invocation or any command) with `env` added to a clean copy."""
        log_path = log_dir / f"{name}-{len(started)}.log"
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        command = [sys.executable, *args] if args[0] == "-m" else list(args)
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=full_env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        spawned = Spawned(process, log_path)
        started.append(spawned)
        if ready is not None:

            def is_ready() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"{name} exited with {process.returncode}:\n{spawned.log()[-3000:]}")
                return ready in spawned.log()

            wait_for(is_ready, timeout, f"{name} to log {ready!r}", interval=0.1)
        return spawned

    return spawn, started


READY = " ready."  # a worker's log line once it consumes its queues
GATEWAY_READY = "Running on"  # the development server's log line once it listens


def worker(spawn: Spawn, service: str, env: dict[str, str], *args: str, wait: bool = True) -> Spawned:
    """Worker `service` (segmenter, stylizer, compositor) with extra `args`; ready on return unless `wait`
    is false."""
    return spawn(
        [*arguments(service), *args],
        env,
        ready=READY if wait else None,
        timeout=90,
        name=service,
    )


def wait_ready(*workers: Spawned) -> None:
    for item in workers:

        def ready(item: Spawned = item) -> bool:
            if item.process.poll() is not None:
                raise AssertionError(f"a worker exited with {item.process.returncode}:\n{item.log()[-3000:]}")
            return READY in item.log()

        wait_for(ready, 90, "a worker to be ready", 0.1)


def start_workers(spawn: Spawn, env: dict[str, str], styles: str = "starry-night") -> dict[str, Spawned]:
    """One worker per service, the stylizer serving `styles`, started together; all ready on return."""
    started = {name: spawn(arguments(name, styles=styles), env, name=name) for name in WORKERS}
    wait_ready(*started.values())
    return started


def start_gateway(
    spawn: Spawn, env: Mapping[str, str], *, name: str = "gateway", timeout: float = 30
) -> Spawned:
    """`python -m gateway` (the development server, on SITTER_PORT), listening on return."""
    return spawn(arguments(GATEWAY), env, ready=GATEWAY_READY, timeout=timeout, name=name)


def run_to_end(
    argv: Sequence[str], env: Mapping[str, str], *, cwd: Path = ROOT, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a command that is expected to exit by itself (a check, a refused start), capturing its output."""
    return subprocess.run(list(argv), cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout)
