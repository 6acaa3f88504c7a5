"""Is there a person to place? The selfie segmenters answer "where is the person" even when there is none:
on a cat they mark 75 % of the photo, on a coffee cup 39 %. So a person must also be seen by a detector
that knows people: a face (BlazeFace, short and full range) or a body (BlazePose's detector), lying on
the segmented area, and large enough to place.

Thresholds from photos with and without people (`tests/data/no_person/`, the composite eval portraits,
the 40 EG1800 dev portraits): every real portrait has a face at 0.75 or more (the weakest: a Raphael
self-portrait at 0.62 full range, 0.92 short range); non-person photos reach 0.61 at most (a logo).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.painting.detectors import FULL_RANGE_FACE, POSE, SHORT_RANGE_FACE, Detection, Detector
from shared.errors import NoPersonError
from shared.models import ModelStore

FACE_SCORE = 0.7  # a face at least this sure counts
BODY_SCORE = 0.7  # a body without a visible face (seen from behind) counts at this score
ON_PERSON = 0.3  # a detection counts only where the matte covers this share of its box
MIN_AREA = 0.01  # the person must cover 1 % of the photo to be placed


@dataclass(frozen=True)
class PersonEvidence:
    """The best face and body scores found on the segmented person, and the person's share of the photo
    (the body's 0 when a sure face made looking for one needless)."""

    face: float
    body: float
    area: float

    @property
    def found(self) -> bool:
        return (self.face >= FACE_SCORE or self.body >= BODY_SCORE) and self.area >= MIN_AREA


class PersonFinder:
    """The detectors that say whether a matte holds a person; loaded once per process."""

    def __init__(
        self,
        models: ModelStore | None = None,
        threads: int | None = None,
        *,
        full_range: Detector | None = None,
        bodies: Detector | None = None,
    ) -> None:
        """`full_range` and `bodies`: detectors the process already holds (the painting analyser's, in the
        in-process pipeline), so they are not loaded twice."""
        self.faces = (
            Detector(SHORT_RANGE_FACE, models, threads),
            full_range or Detector(FULL_RANGE_FACE, models, threads),
        )
        self.bodies = bodies or Detector(POSE, models, threads)

    def evidence(
        self, rgb: np.ndarray, matte: np.ndarray, full_range: list[Detection] | None = None
    ) -> PersonEvidence:
        """`full_range`: the full-range detector's detections on `rgb` when the caller already has them.
        A sure face decides: the next detector runs only while none is (the usual portrait needs one)."""
        person = matte >= 0.5
        face = _best_on(person, self.faces[1].detect(rgb) if full_range is None else full_range)
        if face < FACE_SCORE:
            face = max(face, _best_on(person, self.faces[0].detect(rgb)))
        if face < FACE_SCORE:  # a far-away person's face is a few pixels at the detector's input: look closer
            face = max(face, _best_on(person, self.faces[1].detect(rgb, tiles=3)))
        body = _best_on(person, self.bodies.detect(rgb)) if face < FACE_SCORE else 0.0
        return PersonEvidence(face=face, body=body, area=float(person.mean()))

    def require_person(
        self, rgb: np.ndarray, matte: np.ndarray, full_range: list[Detection] | None = None
    ) -> PersonEvidence:
        """The evidence, or NoPersonError with a message a user can act on."""
        seen = self.evidence(rgb, matte, full_range)
        problem = refusal(seen)
        if problem is not None:
            raise problem
        return seen


def refusal(seen: PersonEvidence) -> NoPersonError | None:
    """Why this evidence is no person to place, or None when it is one."""
    if seen.found:
        return None
    if seen.face >= FACE_SCORE or seen.body >= BODY_SCORE:
        return NoPersonError(
            f"the person in the portrait is too small to place ({seen.area:.1%} of the photo); "
            "send a photo where they fill more of the frame",
            field="portrait",
        )
    return NoPersonError(
        "no person found in the portrait: send a photo of someone with their face or body clearly visible, "
        "filling a good part of the frame",
        field="portrait",
    )


def _best_on(person: np.ndarray, found: list[Detection]) -> float:
    """The highest score among detections whose box the segmented person covers enough of."""
    height, width = person.shape
    best = 0.0
    for detection in found:
        x0, y0, x1, y1 = (round(v) for v in detection.box)
        box = person[max(y0, 0) : min(y1, height), max(x0, 0) : min(x1, width)]
        if box.size and float(box.mean()) >= ON_PERSON:
            best = max(best, detection.score)
    return best
