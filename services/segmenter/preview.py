"""The `preview` task: the person cut out of a small photo, for the web editor's placement box.

Thin: the person check and the matte are the segment stage's own (`PersonMatter`), so a photo the preview
accepts is one a job accepts; only the answer travels differently (shared/runtime/preview_replies.py).
"""

from __future__ import annotations

import base64
import logging

from celery import shared_task

from services.painting.cutout import cutout
from shared.blob_codec import encode_png_fast
from shared.errors import SitterError
from shared.imageio import decode_image
from shared.previews import PREVIEW_SIDE, PREVIEW_TASK, PreviewAnswer
from shared.runtime.preview_replies import send_answer
from shared.runtime.worker import runtime

log = logging.getLogger("sitter.segmenter")


@shared_task(name=PREVIEW_TASK, ignore_result=True)
def preview(preview_id: str, photo_b64: str) -> None:
    rt = runtime()
    try:
        rgb = decode_image(
            base64.b64decode(photo_b64), max_pixels=PREVIEW_SIDE * PREVIEW_SIDE, what="portrait"
        )
        answer = PreviewAnswer(png=encode_png_fast(cutout(rgb, rt.models.matte(rgb))))
    except SitterError as exc:
        answer = PreviewAnswer(code=exc.code, detail=exc.message)
    except Exception:  # a bug: the gateway says so without details; the log has them
        log.exception("preview %s failed", preview_id)
        answer = PreviewAnswer(code="internal-error", detail="the preview failed; the job itself may work")
    send_answer(rt.redis, preview_id, answer)
