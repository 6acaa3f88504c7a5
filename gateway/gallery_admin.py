"""The operator's gallery: POST, PATCH and DELETE /v1/paintings, for SITTER_ADMIN_KEYS only.

An added painting is checked like any upload (size, pixel limit, decode budget, format), stored, and
analysed by a worker (the `paintings` queue); it is listed at once with `analysis: pending`, and jobs may
use it once it is `ready`. Bundled paintings are read-only (SITTER_BUNDLED_GALLERY=false hides them all).
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from gateway.backends import backends, settings
from gateway.documents import base_url
from gateway.loopback import is_loopback
from gateway.params import read_file, validate_image
from gateway.problems import ApiProblem
from shared.errors import ImageTooLargeError, InvalidImageError, InvalidParameterError, UnknownPaintingError
from shared.flags import parse_flag
from shared.gallery_store import (
    PENDING,
    PaintingReadOnlyError,
    StoredPainting,
    check_id,
    check_metadata,
)
from shared.imageio import open_for_probe
from shared.painting_catalog import CatalogPainting
from shared.queues import ANALYSE_PAINTING_TASK, PAINTINGS_QUEUE

gallery_admin = Blueprint("gallery_admin", __name__, url_prefix="/v1/paintings")

STALLED_SECONDS = 120  # an analysis not started this long after it was queued is queued again
# what every browser shows: the web client displays the painting as stored
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def _given_key() -> str:
    bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return request.headers.get("X-API-Key") or bearer


@gallery_admin.before_request
def require_admin_key() -> None:
    """Only admin keys change the gallery; an ordinary key is 403, none or a wrong one 401. Without any
    keys (development mode) this machine's callers are the admin, as for jobs."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    conf = settings()
    given = _given_key()
    if conf.admin_keys and given in conf.admin_keys:
        return
    if given and given in conf.api_keys:
        raise ApiProblem(403, "admin-required", "changing the gallery needs an admin key (SITTER_ADMIN_KEYS)")
    if conf.admin_keys or conf.api_keys:
        raise ApiProblem(401, "unauthorized", "an admin key is required (X-API-Key or Authorization: Bearer)")
    if not is_loopback(request.remote_addr):
        raise ApiProblem(
            403,
            "development-mode",
            "this gateway runs without keys, so only its own machine may change the gallery; "
            "its operator must set SITTER_ADMIN_KEYS",
        )


def _document(item: CatalogPainting) -> dict[str, Any]:
    from gateway.gallery_api import item_document

    return item_document(item, base_url(settings()))


def _queue_analysis(painting: StoredPainting) -> None:
    backends().celery.send_task(
        ANALYSE_PAINTING_TASK, args=(painting.id, painting.version), queue=PAINTINGS_QUEUE
    )


def resend_stalled_analysis(item: CatalogPainting) -> None:
    """A pending analysis whose task never started (a broker that lost it, no worker for a while) is
    queued again when someone looks at the painting; the task is idempotent per version."""
    stored = backends().gallery.get(item.id)
    if stored is None or stored.analysis != PENDING or stored.version != item.version:
        return
    since = stored.analysis_started_at or stored.added_at
    if time.time() - since > STALLED_SECONDS:
        backends().gallery.mark_analysis_started(stored.id, stored.version, time.time())
        _queue_analysis(stored)


@gallery_admin.post("")
def add_painting() -> tuple[Response, int, dict[str, str]]:
    conf, back = settings(), backends()
    form = request.form
    painting_id = check_id(form.get("id", "").strip(), set(back.catalog.ids()))
    if painting_id in _bundled_ids():
        raise ApiProblem(409, "painting-exists", f"{painting_id!r} is a bundled painting", field="id")
    meta = check_metadata({name: form[name] for name in form if name != "id"})
    image = read_file(request.files, "image", conf, required=True)
    assert image is not None
    try:
        photo = validate_image(image, "image", conf, back.decode_budget)
    except InvalidImageError as exc:  # a non-image too: the part is unprocessable, the request is fine
        status = 413 if isinstance(exc, ImageTooLargeError) else 422
        raise ApiProblem(status, exc.code, exc.message, field="image") from None
    size = (photo.width, photo.height)
    painting = StoredPainting.new(painting_id, meta, size, _content_type(image, conf.max_pixels), time.time())
    back.gallery.add(painting, image)
    _queue_analysis(painting)
    document = _document(back.catalog.find(painting_id))
    return jsonify(document), 202, {"Location": f"{base_url(conf)}/v1/paintings/{painting_id}"}


@gallery_admin.patch("/<painting_id>")
def change_painting(painting_id: str) -> Response:
    """New title, artist, year, licence or source (JSON or form fields), or `own_queue`: true routes its
    jobs to `stylize.<id>` (a worker group of its own, docs/deployment.md), false back to the shared
    `stylize.gallery`. The image stays; jobs already accepted keep their route."""
    back = backends()
    stored = _added(painting_id)
    body = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if not isinstance(body, dict) or not body:
        raise InvalidParameterError(
            "send the fields to change (title, artist, year, licence, source, own_queue) as JSON or form "
            "fields"
        )
    changes: dict[str, Any] = check_metadata(
        {k: v for k, v in body.items() if k != "own_queue"}, partial=True
    )
    if "own_queue" in body:
        changes["own_queue"] = _flag(body["own_queue"], "own_queue")
    back.gallery.update(StoredPainting.from_json({**stored.to_json(), **changes}))
    return jsonify(_document(back.catalog.find(painting_id)))


@gallery_admin.delete("/<painting_id>")
def delete_painting(painting_id: str) -> tuple[str, int]:
    """Gone from the list and refused to new jobs at once; jobs already accepted still finish."""
    _added(painting_id)
    backends().gallery.remove(painting_id)
    return "", 204


def _flag(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    try:
        return parse_flag(str(value))
    except ValueError:
        raise InvalidParameterError(f"{field} must be true or false, got {value!r}", field=field) from None


def _added(painting_id: str) -> StoredPainting:
    if painting_id in _bundled_ids():
        raise PaintingReadOnlyError(
            f"{painting_id!r} is bundled with Sitter and read-only; SITTER_BUNDLED_GALLERY=false hides "
            "the bundled paintings",
            field="painting",
        )
    stored = backends().gallery.get(painting_id)
    if stored is None:
        exc = UnknownPaintingError(f"no added painting {painting_id!r}", field="painting")
        raise ApiProblem(404, exc.code, exc.message, field="painting")
    return stored


def _bundled_ids() -> set[str]:
    from shared import gallery

    return set(gallery.paintings())


def _content_type(image: bytes, max_pixels: int) -> str:
    """A gallery painting is JPEG, PNG or WebP (others, such as HEIC or TIFF, are refused: 422)."""
    found = open_for_probe(image, max_pixels=max_pixels, what="image").image.format or ""
    if found not in CONTENT_TYPES:
        raise ApiProblem(
            422,
            "invalid-image",
            f"a gallery painting must be JPEG, PNG or WebP (browsers show it as stored), not {found}",
            field="image",
        )
    return CONTENT_TYPES[found]
