"""The stack's processes, written once: the gateway, one worker per service and the dedicated preview
consumer (a segmenter on the `preview` queue alone), each a Python module. In the stack the segmenter
leaves the previews to that consumer and serves `segment` alone; started by itself (a test's worker) it
serves both queues, previews first.

`sitter up` (sitter.stack), `make bench-service` (sitter.bench_service) and the tests start the stack
from this table; each keeps its own way of watching the processes, but none writes a command line itself.
The deployment files (Dockerfile, compose, Kubernetes) run the same modules; tests/helpers/deploy.py checks
them against this table. Every process reads the rest of its configuration from SITTER_* variables
(the gateway's port is SITTER_PORT).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping, Sequence

from shared.queues import PREVIEW_SEGMENTER, PREVIEW_SEGMENTER_QUEUES, SEGMENT_SEGMENTER_QUEUES

# name -> the module `python -m` runs; in the order `sitter up` starts them
MODULES: dict[str, str] = {
    "gateway": "gateway",
    "segmenter": "services.segmenter.worker",
    "stylizer": "services.stylizer.worker",
    "compositor": "services.compositor.worker",
    PREVIEW_SEGMENTER: "services.segmenter.worker",
}
GATEWAY = "gateway"
WORKERS = ("segmenter", "stylizer", "compositor")  # one per service
# the stack as deployed: the services' workers and the dedicated preview consumer, a second segmenter
STACK = (GATEWAY, *WORKERS, PREVIEW_SEGMENTER)
# what a process sets over the stack's environment: the preview consumer keeps one pool process, as in
# docker-compose.yml and k8s/workers.yaml
OWN_ENV: dict[str, dict[str, str]] = {PREVIEW_SEGMENTER: {"SITTER_WORKER_CONCURRENCY": "1"}}
# a segmenter's `--queues` (shared.queues' SEGMENTER_ROLES; none: both, previews first), alone and in the
# stack, where the preview consumer serves every preview
QUEUES = {PREVIEW_SEGMENTER: PREVIEW_SEGMENTER_QUEUES}
STACK_QUEUES = {**QUEUES, "segmenter": SEGMENT_SEGMENTER_QUEUES}

SETPRIV = shutil.which("setpriv")  # util-linux, on every Linux


def arguments(name: str, *, styles: str | None = None, in_stack: bool = False) -> list[str]:
    """The interpreter's arguments that run process `name`: `-m <module>`, for the stylizer the styles it
    serves (comma-separated; None: its default, SITTER_STYLES), and a segmenter's queues, which depend on
    whether it runs `in_stack` (beside the preview consumer) or alone."""
    args = ["-m", MODULES[name]]
    if name == "stylizer" and styles is not None:
        args += ["--styles", styles]
    queues = (STACK_QUEUES if in_stack else QUEUES).get(name)
    if queues is not None:
        args += ["--queues", ",".join(queues)]
    return args


def environment(name: str, env: Mapping[str, str]) -> dict[str, str]:
    """The environment process `name` runs with: the stack's `env` and the process's own settings."""
    return {**env, **OWN_ENV.get(name, {})}


def command(name: str, *, styles: str | None = None, in_stack: bool = False) -> list[str]:
    """The whole command line of process `name`, run by this interpreter."""
    return [sys.executable, *arguments(name, styles=styles, in_stack=in_stack)]


def stack_commands(styles: str | None = None) -> dict[str, list[str]]:
    """Every process of the stack, name -> command line, the stylizer serving `styles`."""
    return {name: command(name, styles=styles, in_stack=True) for name in STACK}


def dies_with_us(command: Sequence[str]) -> list[str]:
    """`command`, asking Linux to send it SIGTERM when this process dies, however it dies.

    Each child runs in its own session, so Ctrl-C reaches only us and we stop them in order; but a SIGKILL
    runs no handler of ours, and the children would live on, holding their ports. The parent-death signal
    (set by `setpriv --pdeathsig`, kept across its exec) is the kernel's way to tell them. Where there is
    no setpriv (not Linux), the command runs as it is.
    """
    return [SETPRIV, "--pdeathsig", "TERM", "--", *command] if SETPRIV else list(command)
