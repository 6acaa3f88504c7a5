"""The `analyse_painting` task: an operator's added painting analysed on the `paintings` queue.

Served by the stylizer that serves the added paintings' styles (it holds the analyser and the style
predictor). Idempotent per (id, version): a redelivered or re-sent task redoes the same work, and a
painting deleted or replaced meanwhile is left alone. Bad input marks the painting `failed` with the
reason; a storage outage is retried like any stage's.
"""

from __future__ import annotations

import logging
import secrets
import time

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded

from shared.errors import SitterError
from shared.gallery_store import IMAGE_FILE
from shared.queues import ANALYSE_PAINTING_TASK
from shared.runtime.worker import TRANSIENT_ERRORS, runtime

log = logging.getLogger("sitter.stylizer")


@shared_task(name=ANALYSE_PAINTING_TASK, bind=True, max_retries=5)
def analyse_painting(self: Task, painting_id: str, version: str) -> str:
    from services.stylizer.gallery_intake import analyse_added

    rt = runtime()
    store = rt.added
    record = store.get(painting_id)
    if record is None or record.version != version:
        log.info("painting %s version %s is gone; nothing to analyse", painting_id, version)
        return "gone"
    store.mark_analysis_started(painting_id, version, time.time())
    try:
        image = store.read(painting_id, version, IMAGE_FILE)
        document, thumbnail = analyse_added(
            rt.models.analyser, rt.models.stylizer, image, rt.settings.max_pixels
        )
    except TRANSIENT_ERRORS as exc:
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 30)) from exc
    except SoftTimeLimitExceeded:
        store.fail_analysis(
            painting_id, version, f"the analysis took longer than {rt.settings.task_soft_time_limit} s"
        )
        return "failed"
    except SitterError as exc:
        store.fail_analysis(painting_id, version, exc.message)
        return "failed"
    except Exception:
        incident = secrets.token_hex(4)
        log.exception("incident %s: the analysis of painting %s crashed", incident, painting_id)
        store.fail_analysis(painting_id, version, f"internal error; the worker log has incident {incident}")
        return "failed"
    done = store.finish_analysis(painting_id, version, document, thumbnail)
    log.info("painting %s analysed: %s", painting_id, "ready" if done else "gone meanwhile")
    return "ready" if done else "gone"
