"""The `composite` task (the chord's body): matte + stylized portrait + painting -> result and cut-out.

In a job with several people it lays every person's stylized photo, by their matte and the stored joint
plan, into the painting back to front (services/compositor/people.py); the result lists each person's
box and placement. Per-person cut-outs are not kept (the artifacts are a one-person job's).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from celery import Task, shared_task

from services.compositor import blend
from services.compositor.output_scale import at_output_scale
from services.painting.options import Harmonize
from services.painting.placement import Box, Placement
from services.painting.plan import Plan
from shared.added_paintings import added_image
from shared.blob_codec import decode_matte, encode_png_fast
from shared.imageio import CONTENT_TYPES, decode_image, encode_image, encode_thumbnail
from shared.jobs import (
    CUTOUT_BLOB,
    MATTE_BLOB,
    PAINTING_BLOB,
    PLAN_BLOB,
    STYLIZED_BLOB,
    THUMBNAIL_BLOB,
    blob_key,
    is_group,
    person_blob,
    result_blob,
)
from shared.queues import ADDED_KEY, COMPOSITE_TASK, CREDIT_KEY, is_builtin_style
from shared.runtime.fanout import person_style
from shared.runtime.worker import Runtime, run_stage, runtime, settle


@shared_task(name=COMPOSITE_TASK, bind=True)
def composite(self: Task, header_results: list[str], job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    if is_group(params):
        return _composite_people(self, job_id, params)

    def work(rt: Runtime) -> dict[str, Any]:
        limit = rt.settings.max_pixels
        stylized = decode_image(
            rt.blobs.get(blob_key(job_id, STYLIZED_BLOB)), max_pixels=limit, what="stylized"
        )
        matte = decode_matte(rt.blobs.get(blob_key(job_id, MATTE_BLOB)))
        plan = Plan.from_json(json.loads(rt.blobs.get(blob_key(job_id, PLAN_BLOB))))
        painting, placement, plan_out = at_output_scale(
            _painting(rt, job_id, params),
            Placement(**params["placement"]),
            plan,
            params.get("output_scale", 1.0),  # absent from jobs queued before it existed
        )
        placed = blend.composite(
            painting,
            stylized,
            matte,
            placement,
            plan=plan_out,
            harmonize=Harmonize.from_flag(params["harmonize"]),
            builtin_style=is_builtin_style(params["style"]),
        )
        stored = _store_picture(rt, job_id, params, placed.image)
        rt.blobs.put(blob_key(job_id, CUTOUT_BLOB), encode_png_fast(placed.cutout), content_type="image/png")
        return {**stored, "box": _box(placed.box), "placement": _placement(plan)}

    result: dict[str, Any] = run_stage(self, job_id, "composite", work)
    settle(runtime(), job_id, result)
    return result


def _composite_people(task: Task, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    def work(rt: Runtime) -> dict[str, Any]:
        from services.compositor.people import Layer, composite_people
        from services.painting.people import person_placements
        from services.people_io import load_people

        limit = rt.settings.max_pixels
        people = load_people(rt.blobs, job_id)
        count = len(people.sources)
        placements = person_placements(count, params["group"]["people"])
        layers = []
        for person, (plan, placement) in enumerate(zip(people.group.plans, placements, strict=True), start=1):
            stylized_key = blob_key(job_id, person_blob(STYLIZED_BLOB, person))
            stylized = decode_image(rt.blobs.get(stylized_key), max_pixels=limit, what="stylized")
            matte = decode_matte(rt.blobs.get(blob_key(job_id, person_blob(MATTE_BLOB, person))))
            builtin = is_builtin_style(person_style(params, person))
            layers.append(Layer(stylized, matte, placement, plan, builtin))
        harmonize = Harmonize.from_flag(params["harmonize"])
        scale = params.get("output_scale", 1.0)
        painting = _painting(rt, job_id, params)
        image, boxes = composite_people(painting, layers, people.group.order, harmonize, scale)
        stored = _store_picture(rt, job_id, params, image)
        each = []
        for person, (box, plan, source) in enumerate(
            zip(boxes, people.group.plans, people.sources, strict=True), start=1
        ):
            each.append(
                {
                    "person": person,
                    "photo": source.photo,
                    "box": _box(box),
                    "placement": _placement(plan),
                }
            )
        union = Box(
            min(b.x for b in boxes),
            min(b.y for b in boxes),
            max(b.x + b.w for b in boxes) - min(b.x for b in boxes),
            max(b.y + b.h for b in boxes) - min(b.y for b in boxes),
        )
        return {
            **stored,
            "box": _box(union),  # around everyone; each person's is in `people`
            "placement": {"kind": "group", "spot": None, "reason": f"{count} people planned together"},
            "people": each,
            "order": [k + 1 for k in people.group.order],
        }

    result: dict[str, Any] = run_stage(task, job_id, "composite", work)
    settle(runtime(), job_id, result)
    return result


def _box(box: Box) -> dict[str, int]:
    return {"x": box.x, "y": box.y, "w": box.w, "h": box.h}


def _painting(rt: Runtime, job_id: str, params: dict[str, Any]) -> np.ndarray:
    """The job's painting: a bundled one the worker holds decoded, an added one (the version the job was
    accepted with), or the one uploaded with the job."""
    painting_id = params["painting"]
    version = params.get(ADDED_KEY, {}).get(painting_id) if painting_id else None
    if painting_id and version:
        return added_image(rt.added, painting_id, version, rt.settings.max_pixels)
    if painting_id:
        painting: np.ndarray = rt.models[painting_id]
        return painting
    raw = rt.blobs.get(blob_key(job_id, PAINTING_BLOB))
    return decode_image(raw, max_pixels=rt.settings.max_pixels, what="painting")


def _store_picture(rt: Runtime, job_id: str, params: dict[str, Any], image: np.ndarray) -> dict[str, Any]:
    """Write the finished picture and its thumbnail; the result fields that describe the picture (with
    the gallery painting's credit: its licence and source travel with every picture made from it)."""
    fmt = params["format"]
    rt.blobs.put(
        blob_key(job_id, result_blob(fmt)), encode_image(image, fmt), content_type=CONTENT_TYPES[fmt]
    )
    rt.blobs.put(blob_key(job_id, THUMBNAIL_BLOB), encode_thumbnail(image), content_type="image/jpeg")
    height, width = image.shape[:2]
    return {
        "key": result_blob(fmt),
        "format": fmt,
        "content_type": CONTENT_TYPES[fmt],
        "width": width,
        "height": height,
        **({"painting": params[CREDIT_KEY]} if params.get(CREDIT_KEY) else {}),
    }


def _placement(plan: Plan) -> dict[str, Any]:
    return {"kind": plan.kind, "spot": plan.spot, "reason": plan.reason}
