"""The `stylize` task: portrait blob -> stylized portrait blob, in the job's style, at a fixed key.

Gallery and built-in styles come precomputed from the worker's start-up; `custom` computes the style
vector of the painting uploaded with the job.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from shared.blob_codec import encode_png_fast
from shared.errors import UnknownStyleError
from shared.imageio import decode_image
from shared.jobs import PAINTING_BLOB, PORTRAIT_BLOB, STYLIZED_BLOB, blob_key
from shared.queues import CUSTOM_STYLE, STYLIZE_TASK
from shared.worker import Runtime, run_stage


@shared_task(name=STYLIZE_TASK, bind=True)
def stylize(self: Task, job_id: str, params: dict[str, Any]) -> str:
    def work(rt: Runtime) -> str:
        from services.stylizer.resolve import resolve_style

        limit = rt.settings.max_pixels
        portrait = decode_image(
            rt.blobs.get(blob_key(job_id, PORTRAIT_BLOB)), max_pixels=limit, what="portrait"
        )
        style_id = params["style"]
        if style_id == CUSTOM_STYLE:
            raw = rt.blobs.get(blob_key(job_id, PAINTING_BLOB))
            painting = decode_image(raw, max_pixels=limit, what="painting")
            style = resolve_style("painting", rt.models.stylizer, painting)
        elif style_id in rt.models.styles:
            style = rt.models.styles[style_id]
        else:
            raise UnknownStyleError(f"this stylizer worker does not serve style {style_id!r}", field="style")
        stylized = rt.models.stylizer.stylize(
            portrait,
            style,
            strength=params["strength"],
            keep_colors=params["keep_colors"],
            max_size=params["max_size"],
        )
        rt.blobs.put(blob_key(job_id, STYLIZED_BLOB), encode_png_fast(stylized), content_type="image/png")
        return STYLIZED_BLOB

    result: str = run_stage(self, job_id, "stylize", work)
    return result
