"""The `segment` task: portrait blob -> full-resolution matte blob (16-bit PNG) at a fixed key."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from shared.blob_codec import encode_matte
from shared.imageio import decode_image
from shared.jobs import MATTE_BLOB, PORTRAIT_BLOB, blob_key
from shared.queues import SEGMENT_TASK
from shared.worker import Runtime, run_stage


@shared_task(name=SEGMENT_TASK, bind=True)
def segment(self: Task, job_id: str, params: dict[str, Any]) -> str:
    def work(rt: Runtime) -> str:
        raw = rt.blobs.get(blob_key(job_id, PORTRAIT_BLOB))
        portrait = decode_image(raw, max_pixels=rt.settings.max_pixels, what="portrait")
        matte = rt.models.matte(portrait)
        rt.blobs.put(blob_key(job_id, MATTE_BLOB), encode_matte(matte), content_type="image/png")
        return MATTE_BLOB

    result: str = run_stage(self, job_id, "segment", work)
    return result
