"""Peak resident memory (VmHWM) of real worker processes, read from /proc: what the kernel kills for.

A Celery worker's pool process keeps its peak for life, so a test resets it (`clear_refs` 5: the peak
becomes the current resident size) before the job it measures, and reads it after.
"""

from __future__ import annotations

from pathlib import Path

MB = 1024 * 1024


def peak_bytes(pid: int) -> int:
    """The process's peak resident memory since it started or since the last `reset_peak`."""
    return _status_kib(pid, "VmHWM:") * 1024


def resident_bytes(pid: int) -> int:
    return _status_kib(pid, "VmRSS:") * 1024


def reset_peak(pid: int) -> int:
    """Set the process's peak to its current resident memory (proc(5), clear_refs 5); that memory."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return resident_bytes(pid)


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def pool_process(worker_pid: int) -> int:
    """The one pool process of a Celery worker started with concurrency 1: where the tasks run."""
    (pid,) = children(worker_pid)
    return pid


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1])
    raise AssertionError(f"no {key} for process {pid}")
