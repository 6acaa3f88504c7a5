"""After each task a pool process gives the heap memory it freed back to the system (glibc's malloc_trim).

A stage allocates and frees image buffers of many megabytes; glibc keeps freed heap pages mapped in the
process wherever the heap above them is still in use, so a worker's resident memory drifts up and down by
tens of MiB with which jobs ran in which pool process, though nothing is held (the load test's stylizer:
+27 and +34 MiB over a burst of 60 small jobs in two runs, +1 in the next). Trimming after each task returns
those pages at once. Without glibc (musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from typing import Any

from celery.signals import task_postrun


def _malloc_trim() -> Callable[[int], Any] | None:
    name = ctypes.util.find_library("c")
    try:
        trim: Callable[[int], Any] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return trim


_TRIM = _malloc_trim()


def trim_heap() -> None:
    """Return the freed heap pages of this process to the system (no-op without glibc)."""
    if _TRIM is not None:
        _TRIM(0)


def trim_after_each_task() -> None:
    """Connect `trim_heap` to Celery's task_postrun: it runs in the pool process that ran the task."""
    task_postrun.connect(lambda **_: trim_heap(), weak=False)
