"""How many previews one gateway process lets wait on a segmenter at once, overall and per caller.

A preview holds its request thread until a segmenter answers (up to SITTER_PREVIEW_WAIT_SECONDS); with the
segmenters busy, a flood of previews once held every gunicorn thread, and /healthz and other callers' job
polls waited 8 s behind them (issue 22). Beyond these slots a preview is answered 503 `busy` at once, so
the process's other threads stay free.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.problems import ApiProblem

RETRY_AFTER = "2"


class PreviewSlots:
    def __init__(self, total: int, per_caller: int) -> None:
        self.total = total
        self.per_caller = per_caller
        self.in_use: Counter[str] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, caller: str) -> Iterator[None]:
        """One slot for `caller` while the block runs, or 503 `busy` with Retry-After now."""
        with self._lock:
            if self.in_use.total() >= self.total or self.in_use[caller] >= self.per_caller:
                raise ApiProblem(
                    503,
                    "busy",
                    "as many previews as this server lets wait at once are waiting; try again shortly",
                    headers={"Retry-After": RETRY_AFTER},
                )
            self.in_use[caller] += 1
        try:
            yield
        finally:
            with self._lock:
                self.in_use[caller] -= 1
                if not self.in_use[caller]:
                    del self.in_use[caller]
