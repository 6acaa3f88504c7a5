"""The people of a job with several: who they are (which photo, which part of it) and one joint plan.

Pure (the face detector is passed in; no Celery, no storage): the in-process pipeline and the service's
plan step share it, so `sitter blend A.jpg B.jpg` and `POST /v1/jobs` with two portraits place people
alike.

- Separate portraits: each photo is one person (its main person, as for one portrait), at size 1.0:
  separate portraits are normalised by head size.
- `people=all`: every face of the photo is a person, the photo split into one column per face
  (`split_group`), each keeping their face-size ratio to the photo's largest face. People are numbered
  photo by photo, left to right within a photo.
- The default order of a group photo puts the smaller (further) faces behind the larger ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from services.painting.detectors import Detector
from services.painting.group import MAX_PEOPLE, GroupPlan, Person, group_sizes, plan_group, split_group
from services.painting.placement import Placement
from services.painting.plan import Plan, PortraitInfo
from services.painting.portrait import face_rect, portrait_info
from services.painting.scene import PaintingAnalysis, Rect
from shared.errors import InvalidParameterError, NoPersonError


@dataclass(frozen=True)
class Source:
    """Where one person comes from: the photo (1-based), the crop of it (None: the whole photo), the
    crop's size and face box, and their head size relative to their photo's largest face."""

    photo: int
    crop: Rect | None
    info: PortraitInfo
    size: float = 1.0

    def cut(self, photo: np.ndarray) -> np.ndarray:
        """This person's part of the decoded photo: what they are segmented and stylized from."""
        if self.crop is None:
            return photo
        x0, y0, x1, y1 = self.crop
        return np.ascontiguousarray(photo[y0:y1, x0:x1])


def find_people(photo: np.ndarray, faces: Detector, number: int = 1) -> list[Source]:
    """Every person of a group photo (the `MAX_PEOPLE` most confident faces): one column per face, split
    halfway between neighbouring faces, left to right. `number` is the photo's number (1-based)."""
    height, width = photo.shape[:2]
    found = [face_rect(d, width, height) for d in faces.detect(photo)[:MAX_PEOPLE]]
    if not found:
        which = "the group photo" if number == 1 else f"group photo {number}"
        raise NoPersonError(
            f"no person found in {which}: send a photo where each face is clearly visible", field="portrait"
        )
    split = split_group(width, height, found)
    sizes = group_sizes([face for _, face in split])
    return [
        Source(number, crop, PortraitInfo(crop[2] - crop[0], crop[3] - crop[1], face), size)
        for (crop, face), size in zip(split, sizes, strict=True)
    ]


def sources_of(photos: Iterable[np.ndarray], faces: Detector, *, every_person: bool) -> list[Source]:
    """The people of the job's photos, numbered photo by photo; refuses more than MAX_PEOPLE. `photos` may
    be a generator: each is looked at once, so only one need be decoded at a time."""
    sources: list[Source] = []
    for number, photo in enumerate(photos, start=1):
        if every_person:
            sources += find_people(photo, faces, number)
        else:
            sources.append(Source(number, None, portrait_info(photo, faces)))
        del photo  # let it go before the next one is decoded
    if len(sources) > MAX_PEOPLE:
        raise InvalidParameterError(
            f"{len(sources)} people found in the photos; at most {MAX_PEOPLE} fit in one painting",
            field="portrait",
        )
    return sources


def default_order(sources: list[Source], every_person: bool) -> list[int] | None:
    """Back to front: in a group photo the smaller (further) faces behind the larger ones; else as sent."""
    if not every_person:
        return None
    return sorted(range(len(sources)), key=lambda k: sources[k].size)


@dataclass(frozen=True)
class PeoplePlan:
    """Everyone's source and plan, and the order to composite them in (back to front)."""

    sources: list[Source]
    group: GroupPlan

    def to_json(self) -> dict[str, Any]:
        return {
            "people": [
                {
                    "photo": source.photo,
                    "crop": list(source.crop) if source.crop is not None else None,
                    "info": {
                        "width": source.info.width,
                        "height": source.info.height,
                        "face": list(source.info.face) if source.info.face is not None else None,
                    },
                    "size": source.size,
                    "plan": plan.to_json(),
                    "face": list(face),
                }
                for source, plan, face in zip(self.sources, self.group.plans, self.group.faces, strict=True)
            ],
            "order": self.group.order,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PeoplePlan:
        sources, plans, faces = [], [], []
        for item in data["people"]:
            info = item["info"]
            face = tuple(info["face"]) if info["face"] is not None else None
            crop = tuple(item["crop"]) if item["crop"] is not None else None
            portrait = PortraitInfo(info["width"], info["height"], face)
            sources.append(Source(item["photo"], crop, portrait, item["size"]))
            plans.append(Plan.from_json(item["plan"]))
            faces.append(tuple(item["face"]))
        return cls(sources, GroupPlan(plans, faces, list(data["order"])))


def person_placements(count: int, given: dict[str, dict[str, Any]]) -> list[Placement]:
    """Each person's placement from the per-person fields (`{"2": {"x": 10, "height": 300}}`: person 2's
    x.2 and height.2), automatic where none is given. A field for a person the photos do not hold is an
    error naming it (`x.3` when two people were found)."""
    for person in sorted(given, key=int):
        if int(person) > count:
            name = next(iter(given[person]), "x")
            raise InvalidParameterError(
                f"{name}.{person} is for person {person}, but the photos hold {count} "
                f"{'person' if count == 1 else 'people'}",
                field=f"{name}.{person}",
            )
    placements = []
    for number in range(1, count + 1):
        fields = given.get(str(number), {})
        placements.append(Placement(fields.get("x"), fields.get("y"), fields.get("height")))
    return placements


def check_order(order: list[int] | None, count: int) -> list[int] | None:
    """The API's `order` (stored 0-based) against the number of people found: each person once."""
    if order is not None and sorted(order) != list(range(count)):
        given = ",".join(str(k + 1) for k in order)
        raise InvalidParameterError(
            f"order must list each of the {count} people once, back to front (1..{count}), got {given}",
            field="order",
        )
    return order


def plan_people(
    analysis: PaintingAnalysis,
    sources: list[Source],
    placements: list[Placement],
    order: list[int] | None,
    *,
    every_person: bool,
) -> PeoplePlan:
    """One joint plan for everyone (services/painting/group.py): `placements` one per person
    (Placement() for automatic); `order` back to front (0-based), or None for the default."""
    people = [Person(s.info, p, s.size) for s, p in zip(sources, placements, strict=True)]
    if order is None:
        order = default_order(sources, every_person)
    return PeoplePlan(sources, plan_group(analysis, people, order=order))
