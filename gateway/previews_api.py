"""/v1/previews: the person cut out of a photo, in a second, for drawing in the placement box.

The web client asks as soon as a photo is chosen, so the box shows who will stand there (with their real
outline and proportions) and a photo without a person is refused at the photo step, before any job. The
photo is shrunk here (a JPEG decoded at reduced scale), so only a small image travels to a segmenter;
the segmenter runs the job's own matte and person check (shared/runtime/preview_replies.py has the round
trip).
"""

from __future__ import annotations

import base64
import uuid

from flask import Blueprint, Response, request

from gateway.backends import Backends, backends, settings
from gateway.jobs_api import check_rate, client_identity, require_api_key
from gateway.params import read_file
from gateway.problem_types import PROBLEMS
from gateway.problems import ApiProblem
from shared.imageio import encode_image, open_for_probe, preview_of
from shared.previews import PREVIEW_SIDE, PREVIEW_TASK
from shared.queues import PREVIEW_QUEUE
from shared.runtime.preview_replies import wait_for_answer

previews_api = Blueprint("previews", __name__, url_prefix="/v1/previews")
previews_api.before_request(require_api_key)


@previews_api.post("")
def create_preview() -> Response:
    if request.mimetype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise ApiProblem(415, "unsupported-media-type", "send the photo as multipart/form-data (`portrait`)")
    check_rate()
    with backends().preview_slots.hold(client_identity()):  # 503 busy at once beyond them
        return _preview()


def _preview() -> Response:
    back, conf = backends(), settings()
    _check_queue(back, conf.preview_queue_max)
    portrait = read_file(request.files, "portrait", conf, required=True)
    assert portrait is not None
    probe = open_for_probe(portrait, max_pixels=conf.max_pixels, what="portrait", long_side=PREVIEW_SIDE)
    with back.decode_budget.reserve(probe.cost, "portrait"):
        small = preview_of(probe, PREVIEW_SIDE, what="portrait")
    del probe, portrait
    photo = encode_image(small, "jpeg", quality=90)
    preview_id = uuid.uuid4().hex
    wait = conf.preview_wait_seconds
    try:
        back.celery.send_task(
            PREVIEW_TASK,
            args=(preview_id, base64.b64encode(photo).decode()),
            queue=PREVIEW_QUEUE,
            expires=wait,
        )
    except Exception as exc:
        raise ApiProblem(503, "broker-unavailable", "the job queue is unreachable; try again") from exc
    answer = wait_for_answer(back.redis, preview_id, wait)
    if answer is None:
        raise ApiProblem(
            503,
            "busy",
            f"no segmenter was free to preview the photo within {wait} s; a job with it will still work",
            headers={"Retry-After": "5"},
        )
    if answer.png is None:
        code = answer.code or "internal-error"
        status = PROBLEMS.get(code, PROBLEMS["internal-error"])[0]  # the one code -> status table
        raise ApiProblem(status, code, answer.detail or "", field="portrait")
    response = Response(answer.png, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


def _check_queue(back: Backends, most: int) -> None:
    """503 `busy` at once when `most` previews already wait in the broker: with the segmenters down or
    busy, expired ones (each ~100 KB) would otherwise pile up there until a segmenter drops them."""
    try:
        (waiting,) = back.broker.depths([PREVIEW_QUEUE])
    except Exception as exc:
        raise ApiProblem(503, "broker-unavailable", "the job queue is unreachable; try again") from exc
    if waiting >= most:
        raise ApiProblem(
            503,
            "busy",
            f"{waiting} previews are already waiting for a segmenter; a job with the photo still works",
            headers={"Retry-After": "5"},
        )
