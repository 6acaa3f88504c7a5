"""`make up`: the whole service stack on one machine, for development.

Uses the Redis at SITTER_REDIS_URL when it answers, else starts a private `redis-server` (no persistence)
on a free port; then the gateway, one worker per service and the dedicated preview consumer (a second
segmenter, on the `preview` queue alone; the first then serves `segment`), each a separate process exactly
as in production, with their output prefixed by name. Ctrl-C, SIGTERM, SIGHUP (or any process dying)
stops everything warm; if the stack itself is killed outright (SIGKILL, the OOM killer), each child is
sent SIGTERM by the kernel and stops warm on its own.

`--broker rabbitmq` (the default when SITTER_BROKER_URL is an amqp:// URL) moves the task queues to
RabbitMQ: the one at SITTER_BROKER_URL when it answers, else a private node (sitter.rabbitmq_node) on
free ports whose data dies with it; Redis stays the job store either way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import redis

from shared.runtime.broker import RabbitMQBroker, is_rabbitmq
from shared.settings import Settings
from sitter.processes import STACK, dies_with_us, environment, stack_commands
from sitter.rabbitmq_node import RabbitMQNode
from sitter.stack_arguments import add_arguments

ROOT = Path(__file__).resolve().parents[1]
NAME_WIDTH = max(len(name) for name in STACK)
COLOURS = ("\033[36m", "\033[33m", "\033[35m", "\033[32m", "\033[34m", "\033[31m")
RESET = "\033[0m"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@contextmanager
def private_redis() -> Iterator[str]:
    """A throwaway redis-server on a free loopback port; its data dies with it."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("no Redis at SITTER_REDIS_URL and no redis-server binary to start one")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="sitter-redis-") as workdir:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        process = subprocess.Popen(dies_with_us([*command, "--dir", workdir]), stdout=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            deadline = time.monotonic() + 10
            while not redis_answers(url):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("the private redis-server did not start")
                time.sleep(0.05)
            yield url
        finally:
            process.terminate()
            process.wait(10)


def rabbitmq_answers(url: str) -> bool:
    try:
        RabbitMQBroker(url, timeout=1).ping()
        return True
    except Exception:  # refused, unknown host, bad credentials: not usable
        return False


@contextmanager
def private_rabbitmq() -> Iterator[str]:
    """A throwaway RabbitMQ node on free loopback ports (never the machine's own); its data dies with it."""
    with tempfile.TemporaryDirectory(prefix="sitter-rabbitmq-") as workdir:
        node = RabbitMQNode(Path(workdir))
        try:
            node.start()
        except RuntimeError as exc:
            raise SystemExit(f"sitter stack: {exc}") from None
        try:
            yield node.url()
        finally:
            node.close()


@contextmanager
def broker(kind: str, settings: Settings, redis_url: str) -> Iterator[str]:
    """The broker URL for the stack: Redis's own, the configured RabbitMQ, or a private node."""
    if kind == "redis":
        yield redis_url
        return
    if is_rabbitmq(settings.broker_url) and rabbitmq_answers(settings.broker_url):
        yield settings.broker_url
        return
    print("sitter stack: no RabbitMQ at SITTER_BROKER_URL; starting a private node", file=sys.stderr)
    with private_rabbitmq() as url:
        yield url


@dataclass
class Stack:
    """The running processes; each one's output is copied to ours, line by line, behind its name."""

    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    colour: bool = field(default_factory=sys.stdout.isatty)

    def start(self, name: str, argv: Sequence[str]) -> None:
        process = subprocess.Popen(
            dies_with_us(argv),
            cwd=ROOT,
            env=environment(name, self.env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
        )
        self.processes[name] = process
        prefix = f"{name:<{NAME_WIDTH}} | "
        if self.colour:
            prefix = COLOURS[len(self.processes) % len(COLOURS)] + prefix + RESET
        threading.Thread(target=self._copy, args=(process, prefix), daemon=True).start()

    @staticmethod
    def _copy(process: subprocess.Popen[bytes], prefix: str) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            try:
                sys.stdout.write(prefix + line.decode(errors="replace"))
                sys.stdout.flush()
            except (OSError, ValueError):  # our terminal closed (SIGHUP): keep draining so no child blocks
                pass

    def wait_any(self) -> str:
        """Block until one process exits; returns its name."""
        while True:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    return name
            time.sleep(0.2)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM everyone (workers shut down warm: they finish their task), then SIGKILL stragglers."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _say(message: str) -> None:
    """A line on stderr, which may be gone (a closed terminal): stopping must go on regardless."""
    with suppress(OSError, ValueError):
        print(message, file=sys.stderr)


def run(redis_url: str, broker_url: str, styles: str, port: int) -> int:
    env = {
        **os.environ,
        "SITTER_REDIS_URL": redis_url,
        "SITTER_BROKER_URL": broker_url,
        "SITTER_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }
    stack = Stack(env)
    interrupted = False
    try:
        for name, argv in stack_commands(styles).items():
            stack.start(name, argv)
        queues = "" if broker_url == redis_url else f", RabbitMQ {broker_url.rpartition('@')[2]}"
        print(
            f"sitter stack: API on http://127.0.0.1:{port}/ (docs at /v1/docs), Redis {redis_url}{queues}; "
            "Ctrl-C stops"
        )
        exited = stack.wait_any()
        code = stack.processes[exited].returncode
        _say(f"sitter stack: {exited} exited with {code}; stopping the others")
    except KeyboardInterrupt:
        interrupted = True
        _say("\nsitter stack: stopping")
    finally:
        # A second signal while the children stop warm must not cut the stop short and leave them behind
        # (each runs in its own session, so nothing else would stop them); stop() is bounded anyway.
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        stack.stop()
    return 0 if interrupted else 1


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sitter up", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    return parser


def serve(args: argparse.Namespace) -> int:
    """Run the stack until Ctrl-C, SIGTERM or SIGHUP (or a child exits), then stop every child warm."""
    settings = Settings.from_env()
    styles = args.styles if args.styles is not None else ",".join(settings.styles)
    port = args.port if args.port is not None else settings.port
    kind = args.broker or ("rabbitmq" if is_rabbitmq(settings.broker_url) else "redis")
    # Ctrl-C, a closed terminal (SIGHUP) and a supervisor's SIGTERM all stop the stack warm. Installed
    # explicitly: a shell starts background commands with SIGINT ignored, and Python keeps that, so
    # `sitter up &` (or a test runner started that way) would otherwise never stop on Ctrl-C.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.default_int_handler)
    if redis_answers(settings.redis_url):
        with broker(kind, settings, settings.redis_url) as broker_url:
            return run(settings.redis_url, broker_url, styles, port)
    print(f"sitter stack: no Redis at {settings.redis_url}; starting a private redis-server", file=sys.stderr)
    with private_redis() as url, broker(kind, settings, url) as broker_url:
        return run(url, broker_url, styles, port)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return serve(build_parser().parse_args(argv))
    except KeyboardInterrupt:  # a signal before the children started (while Redis or RabbitMQ came up)
        return 130


if __name__ == "__main__":
    sys.exit(main())
