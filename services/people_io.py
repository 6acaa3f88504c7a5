"""What the task layers of a job with several people share: its stored joint plan and one person's photo.

The plan step (the stylizer's `plan_people` task) writes `people.json` once; every segment, stylize and
composite task of the job reads that one file, so all of them follow the same plan.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np

from services.painting.people import PeoplePlan
from shared.imageio import decode_photo
from shared.jobs import PEOPLE_BLOB, blob_key, photo_blob
from shared.runtime.storage import BlobStore


def load_people(blobs: BlobStore, job_id: str) -> PeoplePlan:
    return PeoplePlan.from_json(json.loads(blobs.get(blob_key(job_id, PEOPLE_BLOB))))


def store_people(blobs: BlobStore, job_id: str, people: PeoplePlan) -> None:
    data = json.dumps(people.to_json()).encode()
    blobs.put(blob_key(job_id, PEOPLE_BLOB), data, content_type="application/json")


def load_photos(blobs: BlobStore, job_id: str, count: int, max_pixels: int) -> Iterator[np.ndarray]:
    """The job's uploaded photos at working size, one at a time (photo 1 is the `portrait` blob, then
    `portrait.2` ...): the plan step looks at each once, so six 40 MP photos are never held together."""
    for n in range(1, count + 1):
        yield decode_photo(
            blobs.get(blob_key(job_id, photo_blob(n))), max_pixels=max_pixels, what=f"photo {n}"
        )


def person_photo(
    blobs: BlobStore, job_id: str, people: PeoplePlan, person: int, max_pixels: int
) -> np.ndarray:
    """Person `person` (1-based) cut from their photo, exactly as the plan step saw them."""
    source = people.sources[person - 1]
    raw = blobs.get(blob_key(job_id, photo_blob(source.photo)))
    return source.cut(decode_photo(raw, max_pixels=max_pixels, what=f"photo {source.photo}"))


def who(people: PeoplePlan, person: int) -> str:
    """How errors name a person: `person 2 (photo 1)` (the photo is the n-th `portrait` sent)."""
    return f"person {person} (photo {people.sources[person - 1].photo})"


def person_fields(params: dict[str, Any], person: int) -> dict[str, Any]:
    """The per-person fields given for this person (x.2, style.2 ... as {"x": .., "style": ..})."""
    given: dict[str, Any] = params["group"]["people"].get(str(person), {})
    return given
