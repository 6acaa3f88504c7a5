"""The stack's processes, written once: the gateway and one worker per service, each a Python module.

`sitter up` (sitter.stack), `make bench-service` (sitter.bench_service) and the tests start the stack
from this table; each keeps its own way of watching the processes, but none writes a command line itself.
The deployment files (Dockerfile, compose, Kubernetes) run the same modules; tests/helpers/deploy.py checks
them against this table. Every process reads the rest of its configuration from SITTER_* variables
(the gateway's port is SITTER_PORT).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence

# name -> the module `python -m` runs; in the order `sitter up` starts them
MODULES: dict[str, str] = {
    "gateway": "gateway",
    "segmenter": "services.segmenter.worker",
    "stylizer": "services.stylizer.worker",
    "compositor": "services.compositor.worker",
}
GATEWAY = "gateway"
WORKERS = ("segmenter", "stylizer", "compositor")
STACK = (GATEWAY, *WORKERS)

SETPRIV = shutil.which("setpriv")  # util-linux, on every Linux


def arguments(name: str, *, styles: str | None = None) -> list[str]:
    """The interpreter's arguments that run process `name`: `-m <module>`, and for the stylizer the styles
    it serves (comma-separated; None: its default, SITTER_STYLES)."""
    args = ["-m", MODULES[name]]
    if name == "stylizer" and styles is not None:
        args += ["--styles", styles]
    return args


def command(name: str, *, styles: str | None = None) -> list[str]:
    """The whole command line of process `name`, run by this interpreter."""
    return [sys.executable, *arguments(name, styles=styles)]


def stack_commands(styles: str | None = None) -> dict[str, list[str]]:
    """Every process of the stack, name -> command line, the stylizer serving `styles`."""
    return {name: command(name, styles=styles) for name in STACK}


def dies_with_us(command: Sequence[str]) -> list[str]:
    """`command`, asking Linux to send it SIGTERM when this process dies, however it dies.

    Each child runs in its own session, so Ctrl-C reaches only us and we stop them in order; but a SIGKILL
    runs no handler of ours, and the children would live on, holding their ports. The parent-death signal
    (set by `setpriv --pdeathsig`, kept across its exec) is the kernel's way to tell them. Where there is
    no setpriv (not Linux), the command runs as it is.
    """
    return [SETPRIV, "--pdeathsig", "TERM", "--", *command] if SETPRIV else list(command)
