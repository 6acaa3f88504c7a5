"""The `composite` task (the chord's body): matte + stylized portrait + painting -> result and cut-out."""

from __future__ import annotations

import json
from typing import Any

from celery import Task, shared_task

from services.compositor import blend
from services.compositor.output_scale import enlarge_painting, scale_placement, scale_plan
from services.compositor.placement import Placement
from services.painting.options import Harmonize
from services.painting.plan import Plan
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
    result_blob,
)
from shared.queues import COMPOSITE_TASK
from shared.worker import Runtime, notify, run_stage, runtime


@shared_task(name=COMPOSITE_TASK, bind=True)
def composite(self: Task, header_results: list[str], job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    def work(rt: Runtime) -> dict[str, Any]:
        limit = rt.settings.max_pixels
        if params["painting"]:
            painting = rt.models[params["painting"]]
        else:
            painting = decode_image(
                rt.blobs.get(blob_key(job_id, PAINTING_BLOB)), max_pixels=limit, what="painting"
            )
        stylized = decode_image(
            rt.blobs.get(blob_key(job_id, STYLIZED_BLOB)), max_pixels=limit, what="stylized"
        )
        matte = decode_matte(rt.blobs.get(blob_key(job_id, MATTE_BLOB)))
        plan = Plan.from_json(json.loads(rt.blobs.get(blob_key(job_id, PLAN_BLOB))))
        scale = params.get("output_scale", 1.0)  # absent from jobs queued before it existed
        placed = blend.composite(
            enlarge_painting(painting, scale),
            stylized,
            matte,
            scale_placement(Placement(**params["placement"]), scale),
            plan=scale_plan(plan, scale),
            harmonize=Harmonize.from_flag(params["harmonize"]),
        )
        fmt = params["format"]
        rt.blobs.put(
            blob_key(job_id, result_blob(fmt)),
            encode_image(placed.image, fmt),
            content_type=CONTENT_TYPES[fmt],
        )
        rt.blobs.put(blob_key(job_id, CUTOUT_BLOB), encode_png_fast(placed.cutout), content_type="image/png")
        thumbnail = encode_thumbnail(placed.image)
        rt.blobs.put(blob_key(job_id, THUMBNAIL_BLOB), thumbnail, content_type="image/jpeg")
        box = {"x": placed.box.x, "y": placed.box.y, "w": placed.box.w, "h": placed.box.h}
        height, width = placed.image.shape[:2]
        return {
            "key": result_blob(fmt),
            "format": fmt,
            "content_type": CONTENT_TYPES[fmt],
            "box": box,
            "placement": {"kind": plan.kind, "spot": plan.spot, "reason": plan.reason},
            "width": width,
            "height": height,
        }

    result: dict[str, Any] = run_stage(self, job_id, "composite", work)
    rt = runtime()
    if rt.jobs.succeed(job_id, result):
        notify(rt, job_id)
    else:  # canceled while compositing: drop what was just written
        rt.blobs.delete_prefix(f"{job_id}/")
    return result
