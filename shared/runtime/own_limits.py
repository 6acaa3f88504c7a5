"""Each worker's time limits are its own, whatever the process that sent the task was configured with.

Celery 5.7 binds `task_time_limit` and `task_soft_time_limit` from the sending app's configuration onto the
task and writes them into every message it sends, and a worker obeys a message's limits before its own.
So a gateway (or a stylizer publishing a chord's callback) that has the task classes imported would impose
its own limits on another service: the stylizer's hard limit, sized for its inference, replaced by the
gateway's default, or the compositor's by the stylizer's. The limits a worker enforces are those its
operator set for that worker (SITTER_TASK_*_TIME_LIMIT): this request ignores the message's.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from celery.worker.request import Request


class OwnLimitsRequest(Request):
    """A task request whose time limits are always the worker's configured ones."""

    @property
    def time_limits(self) -> tuple[None, None]:
        """(hard, soft) from the message: never any, so the pool falls back to the worker's task limits."""
        return (None, None)

    @time_limits.setter
    def time_limits(self, sent: Any) -> None:
        """The message's `timelimit` header is dropped (Request.__init__ assigns it)."""


class SitterTask(Task):
    """The base of every Sitter task: requests that keep the worker's own time limits."""

    Request = OwnLimitsRequest
