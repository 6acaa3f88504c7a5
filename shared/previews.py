"""The cut-out preview's names and its answer: the task, its queue, the photo's size, the answer's form.

A preview is not a job: nothing is stored but the answer, which the segmenter sends straight back to the
gateway that waits for it (`shared.runtime.preview_replies` carries it over Redis). This module holds
only what both sides must agree on, with no Redis or Celery import.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

PREVIEW_TASK = "sitter.preview"  # on shared.queues.PREVIEW_QUEUE, which the segmenters serve first
PREVIEW_SIDE = 480  # long side of the photo a preview is made from: enough to draw, quick to matte


@dataclass(frozen=True)
class PreviewAnswer:
    """The cut-out (RGBA PNG bytes), or why there is none: an error code and a detail for the user."""

    png: bytes | None = None
    code: str | None = None
    detail: str | None = None

    def dumps(self) -> str:
        if self.png is not None:
            return json.dumps({"png": base64.b64encode(self.png).decode()})
        return json.dumps({"code": self.code, "detail": self.detail})

    @classmethod
    def loads(cls, raw: bytes | str) -> PreviewAnswer:
        data = json.loads(raw)
        if "png" in data:
            return cls(png=base64.b64decode(data["png"]))
        return cls(code=str(data["code"]), detail=str(data["detail"]))
