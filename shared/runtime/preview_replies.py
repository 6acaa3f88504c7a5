"""The cut-out preview's round trip: the gateway asks a segmenter for the person in a small photo and waits.

A preview is not a job: nothing is stored but the answer, which the worker pushes onto a Redis list named
for the request; the gateway blocks on that list for a few seconds and gives up (503) when no segmenter is
free. The task message expires with the wait, so a preview nobody waits for any more is never computed,
and the answer expires soon after, so one that came too late costs nothing. The task's name, queue and
the answer's form are in `shared.previews`.
"""

from __future__ import annotations

import redis

from shared.previews import PreviewAnswer

ANSWER_TTL_SECONDS = 30


def reply_key(preview_id: str) -> str:
    return f"sitter:preview:{preview_id}"


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
