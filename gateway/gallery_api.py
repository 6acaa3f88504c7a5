"""/v1/paintings and /v1/styles: what a client can choose from, with thumbnails for pickers."""

from __future__ import annotations

import hashlib
import io
import logging
from functools import cache
from typing import Any

from flask import Blueprint, Response, jsonify, request
from PIL import Image
from redis import RedisError

from gateway.backends import backends, settings
from gateway.documents import base_url
from gateway.gallery_admin import resend_stalled_analysis
from gateway.params import max_request_bytes
from gateway.problems import ApiProblem
from shared import gallery
from shared.builtin_styles import builtin_styles, thumbnail_path
from shared.errors import UnknownPaintingError
from shared.gallery_store import READY
from shared.painting_catalog import CatalogPainting, PaintingCatalog
from shared.queues import CUSTOM_STYLE, PAINTING_STYLE, style_queue, stylize_queue
from shared.runtime.storage import StorageUnavailableError
from shared.trained import KIND as TRAINED_KIND

gallery_api = Blueprint("gallery", __name__, url_prefix="/v1")
log = logging.getLogger("sitter.gateway")

THUMBNAIL_SIDE = 256


@cache
def _bundled_thumbnail(painting_id: str) -> bytes:
    with Image.open(gallery.painting(painting_id).path) as image:
        image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def item_document(item: CatalogPainting, root: str) -> dict[str, Any]:
    """A painting as the API shows it; an added one's thumbnail exists once it is analysed."""
    doc = {
        **item.describe(),
        "style": item.id,
        "image": f"{root}/v1/paintings/{item.id}/image",
    }
    if item.analysis == READY:
        doc["thumbnail"] = f"{root}/v1/paintings/{item.id}/image?size=thumbnail"
    return doc


def _listed() -> list[CatalogPainting]:
    """The gallery for the pickers. With Redis unreachable the bundled paintings are still listed (they
    need no Redis) and the outage is logged; jobs and /readyz report it anyway."""
    catalog = backends().catalog
    try:
        return catalog.items()
    except (RedisError, StorageUnavailableError) as exc:
        log.warning("the operator's paintings are not listed: Redis is unreachable (%s)", exc)
        return PaintingCatalog(None, bundled=catalog.bundled).items()


def _find(painting_id: str) -> CatalogPainting:
    try:
        return backends().catalog.find(painting_id)
    except UnknownPaintingError as exc:
        raise ApiProblem(404, exc.code, exc.message, field="painting") from None


@gallery_api.get("/paintings")
def paintings() -> Response:
    """The gallery, and the upload limits beside it: a client choosing what to send (the web page, which
    shrinks photos so several fit in one request) learns them where it learns the paintings. The
    gateway still checks every request itself."""
    root = base_url(settings())
    uploads = {
        "max_file_bytes": settings().max_upload_bytes,
        "max_request_bytes": max_request_bytes(settings()),
    }
    items = [item_document(item, root) for item in _listed()]
    return jsonify({"paintings": items, "uploads": uploads})


@gallery_api.get("/paintings/<painting_id>")
def painting(painting_id: str) -> Response:
    """One painting with its suggested spots, best first (submit `spot=N`): different kinds of place (a bust
    on one side, a bust on the other, a whole figure standing in the scene), each with its side and reason.
    An added painting has spots once analysed (`analysis`: pending, ready or failed)."""
    item = _find(painting_id)
    if item.analysis != READY:
        resend_stalled_analysis(item)
        return jsonify({**item_document(item, base_url(settings())), "spots": []})
    spots = [
        {
            "index": index,
            **{key: spot[key] for key in ("x", "y", "width", "height", "reason")},
            "kind": spot.get("kind", "bust"),  # analyses stored before spots had kinds: busts, side unknown
            "side": spot.get("side") or None,
        }
        for index, spot in enumerate(backends().catalog.spots(item))
    ]
    return jsonify({**item_document(item, base_url(settings())), "spots": spots})


@gallery_api.get("/paintings/<painting_id>/image")
def painting_image(painting_id: str) -> Response:
    item = _find(painting_id)
    size = request.args.get("size", "full")
    if size not in ("full", "thumbnail"):
        raise ApiProblem(422, "invalid-parameter", "size must be `full` or `thumbnail`", field="size")
    if size == "full":
        return _image(backends().catalog.image(item), _content_type(item))
    if item.bundled:
        return _image(_bundled_thumbnail(painting_id))
    if item.analysis != READY:
        raise ApiProblem(
            409, "painting-not-ready", f"painting {painting_id!r} has no thumbnail until analysed"
        )
    return _image(backends().catalog.thumbnail(item))


def _content_type(item: CatalogPainting) -> str:
    if item.bundled:
        return "image/jpeg"
    stored = backends().gallery.get(item.id)
    return stored.content_type if stored is not None else "application/octet-stream"


def _image(data: bytes, content_type: str = "image/jpeg") -> Response:
    """A static image with a strong validator, so pickers revalidate cheaply."""
    response = Response(data, content_type=content_type)
    response.set_etag(hashlib.sha256(data).hexdigest()[:32])
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response.make_conditional(request)  # type: ignore[return-value]


@gallery_api.get("/styles/<style_id>/thumbnail")
def builtin_thumbnail(style_id: str) -> Response:
    known = {style.id: style.index for style in builtin_styles()}
    if style_id not in known:
        raise ApiProblem(404, "style-not-found", f"no built-in style {style_id!r}", field="style")
    return _image(thumbnail_path(known[style_id]).read_bytes())


def versus_arbitrary(comparison: dict[str, Any]) -> dict[str, Any] | None:
    """A trained style's measured margin over the arbitrary network fed the same painting (medians on
    held-out photos; lower style ratio is more painted in), so a client can tell a style that paints
    better from one that only exists; None where it was never measured."""
    if not comparison:
        return None
    ours, theirs = comparison["trained"], comparison["arbitrary"]
    return {
        "style_ratio": ours["style_ratio"],
        "arbitrary_style_ratio": theirs["style_ratio"],
        "ratio": round(ours["style_ratio"] / max(theirs["style_ratio"], 1e-9), 3),
        "legibility": ours["legibility"],
        "arbitrary_legibility": theirs["legibility"],
        "photos": len(comparison["photos"]),
        "wins": bool(comparison.get("wins")),
    }


@gallery_api.get("/styles")
def styles() -> Response:
    root = base_url(settings())
    catalog = _listed()
    shown = {item.id for item in catalog}
    items: list[dict[str, Any]] = [
        {
            "id": item.id,
            "kind": "painting",
            "title": f"{item.title} ({item.artist})",
            "queue": style_queue(item.id, item.own_queue),
            "thumbnail": f"{root}/v1/paintings/{item.id}/image?size=thumbnail",
        }
        for item in catalog
        if item.analysis == READY
    ]
    items += [
        {
            "id": style.id,
            "kind": "builtin",
            "title": f"Built-in: {style.label}",
            "queue": stylize_queue(style.id),
            "thumbnail": f"{root}/v1/styles/{style.id}/thumbnail",
        }
        for style in builtin_styles()
    ]
    items += [
        {
            "id": style.style_id,
            "kind": TRAINED_KIND,
            "title": f"Trained network: {style.title}",
            "queue": stylize_queue(style.style_id),
            "painting": style.painting,
            "network": style.kind,
            "versus_arbitrary": versus_arbitrary(style.comparison),
            **(
                {"thumbnail": f"{root}/v1/paintings/{style.painting}/image?size=thumbnail"}
                if style.painting in shown
                else {}
            ),
        }
        for style in settings().models.trained_styles().values()
    ]
    items.append(
        {
            "id": CUSTOM_STYLE,
            "kind": "custom",
            "title": "The uploaded painting's own style",
            "queue": stylize_queue(CUSTOM_STYLE),
        }
    )
    return jsonify({"default": PAINTING_STYLE, "styles": items})
