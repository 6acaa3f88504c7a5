"""A per-process memory budget for validating uploads: the bytes of pixels being decoded at once.

Memory goes with pixels, not with file size (a 77 KB PNG can hold 40 MP of 16-bit grey), and gunicorn
runs many requests in one process, so each decode first reserves what it will allocate, known from the
image's header. A request that alone exceeds the budget is refused; one that would push the process
over waits for others to finish, and after `wait` seconds is answered 503 with Retry-After.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.problems import ApiProblem
from shared.errors import ImageTooLargeError

MB = 1024 * 1024


class DecodeBudget:
    def __init__(self, total_bytes: int, wait_seconds: float) -> None:
        self.total = total_bytes
        self.wait = wait_seconds
        self.in_use = 0
        self._changed = threading.Condition()

    @contextmanager
    def reserve(self, nbytes: int, what: str) -> Iterator[None]:
        """Hold `nbytes` of the budget while the block decodes `what`."""
        if nbytes > self.total:
            raise ImageTooLargeError(
                f"the {what} needs {nbytes / MB:.0f} MB to decode; this server decodes at most "
                f"{self.total / MB:.0f} MB at once (SITTER_DECODE_BUDGET_BYTES)",
                field=what,
            )
        with self._changed:
            if not self._changed.wait_for(lambda: self.in_use + nbytes <= self.total, timeout=self.wait):
                raise ApiProblem(
                    503,
                    "busy",
                    "the server is decoding other large images; try again shortly",
                    headers={"Retry-After": "5"},
                )
            self.in_use += nbytes
        try:
            yield
        finally:
            with self._changed:
                self.in_use -= nbytes
                self._changed.notify_all()
