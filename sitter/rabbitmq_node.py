"""A private RabbitMQ node for tests and `sitter up --broker rabbitmq`: its own name, ports and data.

Nothing is shared with a RabbitMQ the machine may already run (Debian's on 127.0.0.1:5672, whose
/etc/rabbitmq files set its name and listener): this node reads its own config and env file, keeps its
data, logs and Erlang cookie in one directory, runs its own epmd on a free port (so it never registers
with the machine's), binds the AMQP listener and Erlang distribution to loopback on free ports, and loads
no plugins (no management UI). Vhosts and one user come from a definitions file read at boot, so no
`rabbitmqctl` (a slow Erlang start of its own) is needed.

Debian's /usr/sbin/rabbitmq-server switches to the `rabbitmq` user, which could not write our directory;
the scripts under /usr/lib/rabbitmq/bin run as the caller.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

SERVER_CANDIDATES = ("/usr/lib/rabbitmq/bin/rabbitmq-server", "/usr/local/lib/rabbitmq/bin/rabbitmq-server")
USER = "sitter"
PASSWORD = "sitter"
START_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_binary() -> str | None:
    """The node's own start script (not Debian's wrapper, which changes user), or None if not installed."""
    for candidate in SERVER_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _password_hash(password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class RabbitMQNode:
    """One node in `workdir`; `start`/`stop` may repeat (a restart keeps its queues and messages)."""

    workdir: Path
    vhosts: Sequence[str] = ("/",)
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    epmd_port: int = field(default_factory=free_port)
    server: subprocess.Popen[bytes] | None = None
    epmd: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"sitter-{self.port}@localhost"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def url(self, vhost: str = "/") -> str:
        return f"amqp://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{quote(vhost, safe='')}"

    def env(self) -> dict[str, str]:
        work = self.workdir
        return {
            **os.environ,
            "HOME": str(work),  # the Erlang cookie lives here, not in the caller's home
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(work / "mnesia"),
            "RABBITMQ_LOG_BASE": str(work / "log"),
            "RABBITMQ_LOGS": "-",  # to stdout, which goes to server.log
            "RABBITMQ_CONFIG_FILE": str(work / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(work / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(work / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(work / "enabled_plugins"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_FLAGS": "",
        }

    def _write_config(self) -> None:
        work = self.workdir
        work.mkdir(parents=True, exist_ok=True)
        (work / "rabbitmq-env.conf").write_text("")
        (work / "advanced.config").write_text("[].\n")
        (work / "enabled_plugins").write_text("[].\n")
        definitions = {
            "users": [
                {
                    "name": USER,
                    "password_hash": _password_hash(PASSWORD),
                    "hashing_algorithm": "rabbit_password_hashing_sha256",
                    "tags": ["administrator"],
                }
            ],
            "vhosts": [{"name": vhost} for vhost in self.vhosts],
            "permissions": [
                {"user": USER, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}
                for vhost in self.vhosts
            ],
        }
        (work / "definitions.json").write_text(json.dumps(definitions))
        (work / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\n"
            f"load_definitions = {work / 'definitions.json'}\n"
            "log.console = true\n"
            "log.console.level = warning\n"
            "log.file = false\n"
        )

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        binary = server_binary()
        if binary is None:
            raise RuntimeError("rabbitmq-server is not installed (tests/rabbitmq/install.sh installs it)")
        self._write_config()
        env = self.env()
        with self.log_path.open("ab") as log:
            if self.epmd is None or self.epmd.poll() is not None:
                epmd = shutil.which("epmd") or "epmd"
                self.epmd = subprocess.Popen(
                    [epmd, "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.server = subprocess.Popen(
                [binary], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.server.poll() is not None or time.monotonic() > deadline:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                self.stop()
                raise RuntimeError(f"the private RabbitMQ node did not start:\n{tail}")
            time.sleep(0.1)

    def answers(self) -> bool:
        """The AMQP listener accepts and the definitions (vhosts, user) are loaded."""
        if not _accepts(self.port):
            return False
        from kombu import Connection

        try:
            with Connection(self.url(self.vhosts[-1]), connect_timeout=1) as connection:
                connection.ensure_connection(max_retries=1, timeout=1)
            return True
        except Exception:  # refused, or access refused until the definitions are in
            return False

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM: the node shuts down cleanly (its queues and messages are on disk), then epmd stays for
        a restart; `close` ends both."""
        if self.server is not None and self.server.poll() is None:
            _signal_group(self.server, signal.SIGTERM)
            try:
                self.server.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.server, signal.SIGKILL)
                self.server.wait(10)
        self.server = None

    def close(self) -> None:
        self.stop()
        if self.epmd is not None and self.epmd.poll() is None:
            _signal_group(self.epmd, signal.SIGTERM)
            self.epmd.wait(10)
        self.epmd = None


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended by itself meanwhile
        os.killpg(process.pid, sig)
