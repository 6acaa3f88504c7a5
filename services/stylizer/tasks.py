"""The `stylize` task: portrait blob -> placement plan + stylized portrait blobs, at fixed keys.

The plan comes first: the stylizer paints the person at the size they will be placed and in the style of
the painting around that place, so it decides the place (from the painting's analysis and the portrait's
face box, which it can compute without the matte) and stores the decision for the compositor.
Gallery and built-in styles come precomputed from the worker's start-up; `custom` analyses and computes
the style vector of the painting uploaded with the job.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np
from celery import Task, shared_task

from shared.blob_codec import encode_png_fast
from shared.errors import UnknownStyleError
from shared.imageio import decode_image
from shared.jobs import PAINTING_BLOB, PLAN_BLOB, PORTRAIT_BLOB, STYLIZED_BLOB, blob_key
from shared.queues import CUSTOM_STYLE, PAINTING_STYLE, STYLIZE_TASK
from shared.worker import Runtime, run_stage


@shared_task(name=STYLIZE_TASK, bind=True)
def stylize(self: Task, job_id: str, params: dict[str, Any]) -> str:
    def work(rt: Runtime) -> str:
        from services.compositor.placement import Placement
        from services.painting.options import Harmonize
        from services.painting.planning import plan_for
        from services.stylizer.planned import stylize_for_plan
        from services.stylizer.resolve import resolve_style

        models = rt.models
        limit = rt.settings.max_pixels
        portrait = decode_image(
            rt.blobs.get(blob_key(job_id, PORTRAIT_BLOB)), max_pixels=limit, what="portrait"
        )
        painting_id = params["painting"]
        if painting_id:
            painting = _gallery_painting(painting_id)
        else:
            raw = rt.blobs.get(blob_key(job_id, PAINTING_BLOB))
            painting = decode_image(raw, max_pixels=limit, what="painting")
        plan = plan_for(
            models.analyser,
            portrait,
            painting,
            painting_id,
            Placement(**params["placement"]),
            params.get("spot"),
        )
        steps = Harmonize.from_flag(params["harmonize"])
        style_id = params["style"]
        if style_id == CUSTOM_STYLE:
            style = resolve_style(PAINTING_STYLE, models.stylizer, painting)
        elif style_id in models.styles:
            style = models.styles[style_id]
        else:
            raise UnknownStyleError(f"this stylizer worker does not serve style {style_id!r}", field="style")
        stylized = stylize_for_plan(
            models.stylizer,
            portrait,
            painting,
            style,
            plan,
            steps,
            own_painting=style_id in (CUSTOM_STYLE, painting_id),
            strength=params["strength"],
            keep_colors=params["keep_colors"],
            max_size=params["max_size"],
            output_scale=params.get("output_scale", 1.0),  # absent from jobs queued before it existed
        )
        rt.blobs.put(
            blob_key(job_id, PLAN_BLOB), json.dumps(plan.to_json()).encode(), content_type="application/json"
        )
        rt.blobs.put(blob_key(job_id, STYLIZED_BLOB), encode_png_fast(stylized), content_type="image/png")
        return STYLIZED_BLOB

    result: str = run_stage(self, job_id, "stylize", work)
    return result


@lru_cache(maxsize=16)
def _gallery_painting(painting_id: str) -> np.ndarray:
    """Decoded once per process: the local style crops it on every job for that painting."""
    from shared.gallery import load_painting

    image = load_painting(painting_id)
    image.setflags(write=False)
    return image
