"""`sitter up` (the installed command, not the module) stops on SIGTERM (a process supervisor) and SIGHUP
(a closed terminal) as it does on Ctrl-C: every child stopped warm, none left running in its own session,
and the gateway's port (and the private Redis's) free for the next start. Killed outright (SIGKILL), it
runs no code at all: the kernel's parent-death signal stops each child instead."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from sitter.processes import STACK
from tests.helpers.processes import ROOT, free_port
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow

SITTER = Path(sys.executable).with_name("sitter")


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgid: int
    sid: int
    start: int  # clock ticks after boot: with the pid, names one process even if the pid is reused
    state: str


def processes() -> dict[int, Proc]:
    """Every process in /proc now (those that vanish while we read are skipped)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ", which may hold spaces
        pid = int(entry.name)
        found[pid] = Proc(pid, int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19]), fields[0])
    return found


def family(root: int) -> list[Proc]:
    """`root` and everything started under it, by parent chain."""
    table = processes()
    members, frontier = [table[root]], [root]
    while frontier:
        parent = frontier.pop()
        for proc in table.values():
            if proc.ppid == parent and proc.pid != root:
                members.append(proc)
                frontier.append(proc.pid)
    return members


def survivors(members: list[Proc]) -> list[Proc]:
    """Live processes that were in the family, or that share a process group or session with one of it
    (an orphan is re-parented, but keeps its group and session)."""
    groups = {proc.pgid for proc in members} | {proc.sid for proc in members}
    known = {(proc.pid, proc.start) for proc in members}
    related = [
        proc
        for proc in processes().values()
        if (proc.pid, proc.start) in known or proc.pgid in groups or proc.sid in groups
    ]
    return [proc for proc in related if proc.state != "Z"]  # a zombie is dead, only not yet reaped


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as any server does: TIME_WAIT is fine
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=["SIGTERM", "SIGHUP", "SIGKILL"]
)
def test_sitter_up_stops_everything_on(sig: signal.Signals, tmp_path: Path) -> None:
    if not SITTER.exists():
        pytest.skip(f"no `sitter` command next to {sys.executable} (pip install -e .)")
    port = free_port()
    env = {
        **os.environ,
        "SITTER_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens: a private Redis
        "SITTER_BROKER_URL": "",
        "SITTER_INFERENCE_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "stack.log"
    command = [str(SITTER), "up", "--port", str(port), "--styles", "great-wave", "--broker", "redis"]
    with log_path.open("wb") as log_file:
        stack = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    members: list[Proc] = []
    try:

        def ready() -> bool:
            assert stack.poll() is None, log_path.read_text(errors="replace")[-3000:]
            if log_path.read_text(errors="replace").count(" ready.") < len(STACK) - 1:  # every worker
                return False
            try:
                return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(ready, 120, "`sitter up` to come up", interval=0.2)
        log = log_path.read_text(errors="replace")
        redis_port = int(re.search(r"Redis redis://127\.0\.0\.1:(\d+)/", log).group(1))  # type: ignore[union-attr]
        members = family(stack.pid)
        assert len(members) >= 7, members  # the command, Redis, the gateway and four workers (and theirs)

        stack.send_signal(sig)
        try:  # stop() is bounded: 20 s for the children, 10 s for Redis
            code = stack.wait(60)
        except subprocess.TimeoutExpired:
            tail = log_path.read_text(errors="replace")[-4000:]
            raise AssertionError(f"`sitter up` did not stop on {sig.name}:\n{tail}") from None
        if sig == signal.SIGKILL:  # nothing of ours ran: each child got SIGTERM and stops warm on its own
            assert code == -signal.SIGKILL
            wait_for(lambda: not survivors(members), 30, "every orphaned child to stop")
        else:
            assert code == 0, log_path.read_text(errors="replace")[-4000:]
            wait_for(lambda: not survivors(members), 5, "every child of the stack to be gone")
            assert "sitter stack: stopping" in log_path.read_text(errors="replace")
        assert port_free(port), f"port {port} is still taken"
        assert port_free(redis_port), f"the private Redis's port {redis_port} is still taken"
    finally:
        for proc in survivors(members) if members else []:  # leave nothing behind even when failing
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
        if stack.poll() is None:
            stack.kill()
            stack.wait(10)
