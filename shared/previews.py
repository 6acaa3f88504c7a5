"""The cut-out preview's round trip: the gateway asks a segmenter for the person in a small photo and waits.

A preview is not a job: nothing is stored but the answer, which the worker pushes onto a Redis list named
for the request; the gateway blocks on that list for a few seconds and gives up (503) when no segmenter is
free. The task message expires with the wait, so a preview nobody waits for any more is never computed,
and the answer expires soon after, so one that came too late costs nothing.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import redis

from shared.queues import SEGMENT_QUEUE

PREVIEW_TASK = "sitter.preview"
PREVIEW_QUEUE = SEGMENT_QUEUE  # the segmenter's models make it; a preview is smaller than a job's segment
PREVIEW_SIDE = 480  # long side of the photo a preview is made from: enough to draw, quick to matte
ANSWER_TTL_SECONDS = 30


def reply_key(preview_id: str) -> str:
    return f"sitter:preview:{preview_id}"


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


def send_answer(client: redis.Redis, preview_id: str, answer: PreviewAnswer) -> None:
    key = reply_key(preview_id)
    pipe = client.pipeline()
    pipe.rpush(key, answer.dumps())
    pipe.expire(key, ANSWER_TTL_SECONDS)
    pipe.execute()


def wait_for_answer(client: redis.Redis, preview_id: str, seconds: int) -> PreviewAnswer | None:
    """The worker's answer, or None when none came within `seconds`."""
    popped = client.blpop([reply_key(preview_id)], timeout=seconds)
    if popped is None:
        return None
    return PreviewAnswer.loads(popped[1])
