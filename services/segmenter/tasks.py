"""The `segment` task: portrait blob -> full-resolution matte blob (16-bit PNG) at a fixed key.

In a job with several people there is one per person (`person`, 1-based): it cuts that person from their
photo as the stored plan says and writes `matte.<person>.png`; a redelivered one whose matte is already
stored does nothing again.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from shared.blob_codec import encode_matte
from shared.errors import NoPersonError
from shared.imageio import decode_photo
from shared.jobs import MATTE_BLOB, PORTRAIT_BLOB, blob_key, person_blob, person_stage
from shared.queues import SEGMENT_TASK
from shared.runtime.worker import Runtime, run_stage


@shared_task(name=SEGMENT_TASK, bind=True)
def segment(self: Task, job_id: str, params: dict[str, Any], person: int | None = None) -> str:
    def work(rt: Runtime) -> str:
        raw = rt.blobs.get(blob_key(job_id, PORTRAIT_BLOB))
        portrait = decode_photo(raw, max_pixels=rt.settings.max_pixels, what="portrait")
        matte = rt.models.matte(portrait)
        rt.blobs.put(blob_key(job_id, MATTE_BLOB), encode_matte(matte), content_type="image/png")
        return MATTE_BLOB

    def work_person(rt: Runtime) -> str:
        from services.people_io import load_people, person_photo, who

        assert person is not None
        out = blob_key(job_id, person_blob(MATTE_BLOB, person))
        if rt.blobs.exists(out):  # a redelivered task: this person was done before
            return out
        people = load_people(rt.blobs, job_id)
        photo = person_photo(rt.blobs, job_id, people, person, rt.settings.max_pixels)
        try:
            matte = rt.models.matte(photo)
        except NoPersonError as exc:
            raise NoPersonError(f"{who(people, person)}: {exc.message}", field="portrait") from exc
        rt.blobs.put(out, encode_matte(matte), content_type="image/png")
        return out

    stage = person_stage("segment", person)
    result: str = run_stage(self, job_id, stage, work if person is None else work_person)
    return result
